// Package spa embeds the example single-page app (plain HTML, JavaScript and CSS, no build step)
// so the server can serve it from its own origin; see README.md, "Example SPA".
package spa

import (
	"embed"
	"io/fs"
)

//go:embed index.html style.css js
var files embed.FS

// Files returns the app's files: index.html and style.css at the root, the scripts under js/.
func Files() fs.FS {
	return files
}
