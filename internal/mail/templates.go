package mail

import (
	"html"
	"strings"
)

// letter is what a mail says; compose renders it as text and HTML.
type letter struct {
	Subject string
	Intro   string
	Link    string // empty for a mail without a link
	Button  string // the HTML link's label
	Expiry  string
	Outro   string
}

// compose renders l into a Message from the Composer's sender.
func (c *Composer) compose(kind Kind, userID, to string, l letter) Message {
	return Message{Kind: kind, UserID: userID, From: c.from, To: to, Subject: l.Subject,
		Text: l.text(), HTML: l.html()}
}

// text is the text/plain part. The link stands alone on its line, so every mail reader makes it
// clickable.
func (l letter) text() string {
	var b strings.Builder
	b.WriteString("Hello,\n\n" + l.Intro + "\n\n")
	if l.Link != "" {
		b.WriteString(l.Link + "\n\n" + l.Expiry + "\n\n")
	}
	b.WriteString(l.Outro + "\n")
	return b.String()
}

// html is the text/html alternative, saying the same; every value is escaped.
func (l letter) html() string {
	e := html.EscapeString
	var b strings.Builder
	b.WriteString(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><title>` + e(l.Subject) + `</title></head>
<body style="font-family:sans-serif;line-height:1.5">
<p>Hello,</p>
<p>` + e(l.Intro) + "</p>\n")
	if l.Link != "" {
		b.WriteString(`<p><a href="` + e(l.Link) + `" style="display:inline-block;padding:8px 16px;` +
			`background:#1a56db;color:#fff;text-decoration:none;border-radius:4px">` + e(l.Button) + "</a></p>\n" +
			"<p>Or copy this link into your browser:<br>" + e(l.Link) + "</p>\n" +
			"<p>" + e(l.Expiry) + "</p>\n")
	}
	b.WriteString("<p>" + e(l.Outro) + "</p>\n</body></html>\n")
	return b.String()
}
