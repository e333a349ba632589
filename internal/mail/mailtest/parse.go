package mailtest

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	netmail "net/mail"
	"net/url"
	"regexp"
	"strings"
)

// Header returns the decoded value of the mail's header name ("" when absent).
func (r Received) Header(name string) (string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return "", fmt.Errorf("read mail: %w", err)
	}
	return new(mime.WordDecoder).DecodeHeader(msg.Header.Get(name))
}

// Text returns the mail's text/plain part, decoded.
func (r Received) Text() (string, error) { return r.part("text/plain") }

// HTML returns the mail's text/html part, decoded.
func (r Received) HTML() (string, error) { return r.part("text/html") }

// part returns the first part of the given media type, decoded.
func (r Received) part(want string) (string, error) {
	msg, err := netmail.ReadMessage(bytes.NewReader(r.Data))
	if err != nil {
		return "", fmt.Errorf("read mail: %w", err)
	}
	body, found, err := findPart(msg.Header.Get("Content-Type"), msg.Header.Get("Content-Transfer-Encoding"),
		msg.Body, want)
	if err != nil {
		return "", err
	}
	if !found {
		return "", fmt.Errorf("no %s part in the mail", want)
	}
	return body, nil
}

// findPart walks a (possibly multipart) body for the first part of type want.
func findPart(contentType, encoding string, body io.Reader, want string) (string, bool, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil {
		return "", false, fmt.Errorf("content type %q: %w", contentType, err)
	}
	if strings.HasPrefix(mt, "multipart/") {
		mr := multipart.NewReader(body, params["boundary"])
		for {
			p, err := mr.NextPart() // decodes quoted-printable parts itself
			if errors.Is(err, io.EOF) {
				return "", false, nil
			}
			if err != nil {
				return "", false, fmt.Errorf("next part: %w", err)
			}
			text, found, err := findPart(p.Header.Get("Content-Type"), p.Header.Get("Content-Transfer-Encoding"), p, want)
			if err != nil || found {
				return text, found, err
			}
		}
	}
	if mt != want {
		return "", false, nil
	}
	switch strings.ToLower(encoding) {
	case "quoted-printable":
		body = quotedprintable.NewReader(body)
	case "base64":
		body = base64.NewDecoder(base64.StdEncoding, body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		return "", false, fmt.Errorf("read %s part: %w", mt, err)
	}
	return string(b), true, nil
}

var linkPattern = regexp.MustCompile(`https?://[^\s<>"]+`)

// Links returns every http(s) link in the text part.
func (r Received) Links() ([]string, error) {
	text, err := r.Text()
	if err != nil {
		return nil, err
	}
	return linkPattern.FindAllString(text, -1), nil
}

// Link returns the link in the text part to page (such as "/reset-password") that carries a
// token in its fragment.
func (r Received) Link(page string) (string, error) {
	links, err := r.Links()
	if err != nil {
		return "", err
	}
	for _, l := range links {
		if strings.Contains(l, page+"#token=") {
			return l, nil
		}
	}
	return "", fmt.Errorf("no link to %s with a token in the mail (links: %q)", page, links)
}

// Token returns the token in the mail's link to page.
func (r Received) Token(page string) (string, error) {
	l, err := r.Link(page)
	if err != nil {
		return "", err
	}
	_, frag, _ := strings.Cut(l, "#token=")
	return url.QueryUnescape(frag)
}
