package handlers

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// spaCSP replaces the API's Content-Security-Policy on the example SPA's responses: the page may
// load its own scripts and styles and call its own origin, and nothing inline or from elsewhere.
const spaCSP = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

// spaFile is one file of the SPA, read once at start.
type spaFile struct {
	name string // base name, which picks the Content-Type
	body []byte
	etag string
}

// spaFiles are the SPA's files by URL path ("/index.html", "/js/main.js").
type spaFiles map[string]spaFile

// loadSPA reads every file of fsys into memory; a nil fsys serves no SPA (nil spaFiles).
func loadSPA(fsys fs.FS) (spaFiles, error) {
	if fsys == nil {
		return nil, nil
	}
	files := make(spaFiles)
	err := fs.WalkDir(fsys, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := fs.ReadFile(fsys, name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		files["/"+name] = spaFile{name: d.Name(), body: body, etag: `"` + hex.EncodeToString(sum[:8]) + `"`}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read SPA files: %w", err)
	}
	if _, ok := files["/index.html"]; !ok {
		return nil, fmt.Errorf("read SPA files: no index.html")
	}
	return files, nil
}

// page returns the file to answer a GET or HEAD of an unknown path with: the file of that path,
// or index.html when a browser asks for a page (Accept: text/html), which the SPA's router then
// shows (its "not found" screen included). Paths under /api/, /.well-known/ and /oauth/ never
// get the SPA: they keep the JSON 404. Without an SPA, nothing is served.
func (f spaFiles) page(r *http.Request) (spaFile, bool) {
	if f == nil || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		return spaFile{}, false
	}
	p := r.URL.Path
	for _, reserved := range []string{"/api", "/.well-known", "/oauth"} {
		if p == reserved || strings.HasPrefix(p, reserved+"/") {
			return spaFile{}, false
		}
	}
	if file, ok := f[p]; ok {
		return file, true
	}
	if strings.Contains(r.Header.Get("Accept"), "text/html") {
		return f["/index.html"], true
	}
	return spaFile{}, false
}

// serve writes the file with the SPA's CSP; an unchanged file is revalidated by its ETag.
func (file spaFile) serve(c *gin.Context) {
	h := c.Writer.Header()
	h.Set("Content-Security-Policy", spaCSP)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", file.etag)
	h.Add("Vary", "Accept")
	http.ServeContent(c.Writer, c.Request, file.name, time.Time{}, bytes.NewReader(file.body))
}
