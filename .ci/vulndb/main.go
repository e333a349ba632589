// Command vulndb turns a folder of OSV files (the data/osv folder of the
// golang.org/x/vulndb module) into a local vulnerability database in the
// layout that govulncheck reads with -db file:///path:
//
//	index/db.json       {"modified": <time>}
//	index/modules.json  [{"path": <module>, "vulns": [{"id","modified","fixed"}]}]
//	ID/<GO-ID>.json     the OSV entry itself
//
// It uses only the standard library, so CI needs nothing but the Go
// toolchain and the module proxy. Usage:
//
//	go run . -osv DIR -out DIR [-modified RFC3339] [-min N]
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// entry holds the few OSV fields the index needs.
type entry struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Affected []struct {
		Module struct {
			Path string `json:"name"`
		} `json:"package"`
		Ranges []struct {
			Type   string `json:"type"`
			Events []struct {
				Introduced string `json:"introduced,omitempty"`
				Fixed      string `json:"fixed,omitempty"`
			} `json:"events"`
		} `json:"ranges"`
	} `json:"affected"`
}

type moduleVuln struct {
	ID       string    `json:"id"`
	Modified time.Time `json:"modified"`
	Fixed    string    `json:"fixed,omitempty"`
}

type moduleMeta struct {
	Path  string       `json:"path"`
	Vulns []moduleVuln `json:"vulns"`
}

func main() {
	osvDir := flag.String("osv", "", "folder holding <ID>.json OSV files")
	outDir := flag.String("out", "", "folder to write the database to (replaced)")
	modified := flag.String("modified", "", "RFC 3339 time used where an entry has no modified time")
	minEntries := flag.Int("min", 1000, "fail if fewer OSV entries than this are found")
	flag.Parse()
	log.SetFlags(0)
	log.SetPrefix("vulndb: ")
	if *osvDir == "" || *outDir == "" {
		log.Fatal("both -osv and -out are required")
	}
	var fallback time.Time
	if *modified != "" {
		t, err := time.Parse(time.RFC3339, *modified)
		if err != nil {
			log.Fatalf("-modified: %v", err)
		}
		fallback = t.UTC()
	}
	n, mods, err := build(*osvDir, *outDir, fallback)
	if err != nil {
		log.Fatal(err)
	}
	if n < *minEntries {
		log.Fatalf("only %d OSV entries in %s (want at least %d): the vulndb module is not usable", n, *osvDir, *minEntries)
	}
	fmt.Printf("vulndb: wrote %d entries for %d modules to %s\n", n, mods, *outDir)
}

func build(osvDir, outDir string, fallback time.Time) (int, int, error) {
	files, err := filepath.Glob(filepath.Join(osvDir, "*.json"))
	if err != nil {
		return 0, 0, err
	}
	if len(files) == 0 {
		return 0, 0, fmt.Errorf("no *.json files in %s", osvDir)
	}
	if err := os.RemoveAll(outDir); err != nil {
		return 0, 0, err
	}
	for _, d := range []string{"ID", "index"} {
		if err := os.MkdirAll(filepath.Join(outDir, d), 0o755); err != nil {
			return 0, 0, err
		}
	}

	var dbModified time.Time
	modules := map[string]*moduleMeta{}
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			return 0, 0, err
		}
		var e entry
		if err := json.Unmarshal(raw, &e); err != nil {
			return 0, 0, fmt.Errorf("%s: %w", f, err)
		}
		if e.ID == "" || filepath.Base(f) != e.ID+".json" {
			return 0, 0, fmt.Errorf("%s: file name does not match OSV id %q", f, e.ID)
		}
		if len(e.Affected) == 0 {
			return 0, 0, fmt.Errorf("%s: no affected modules", f)
		}
		mod := e.Modified.UTC()
		if mod.IsZero() {
			mod = fallback
		}
		if mod.After(dbModified) {
			dbModified = mod
		}
		for _, a := range e.Affected {
			p := a.Module.Path
			if p == "" {
				return 0, 0, fmt.Errorf("%s: affected entry without module path", f)
			}
			m := modules[p]
			if m == nil {
				m = &moduleMeta{Path: p, Vulns: []moduleVuln{}}
				modules[p] = m
			}
			m.Vulns = append(m.Vulns, moduleVuln{ID: e.ID, Modified: mod, Fixed: latestFix(a.Ranges)})
		}
		// The entry is copied verbatim: govulncheck parses it itself.
		if err := os.WriteFile(filepath.Join(outDir, "ID", e.ID+".json"), raw, 0o644); err != nil {
			return 0, 0, err
		}
	}

	list := make([]*moduleMeta, 0, len(modules))
	for _, m := range modules {
		sort.SliceStable(m.Vulns, func(i, j int) bool { return m.Vulns[i].ID < m.Vulns[j].ID })
		list = append(list, m)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Path < list[j].Path })
	if err := writeJSON(filepath.Join(outDir, "index", "modules.json"), list); err != nil {
		return 0, 0, err
	}
	if err := writeJSON(filepath.Join(outDir, "index", "db.json"), map[string]time.Time{"modified": dbModified}); err != nil {
		return 0, 0, err
	}
	return len(files), len(list), nil
}

func writeJSON(path string, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return os.WriteFile(path, b, 0o644)
}

// latestFix mirrors govulncheck's own index builder: the highest SEMVER
// "fixed" version of the ranges, or "" when a later "introduced" re-opens
// the vulnerability. govulncheck only skips an entry for a module version
// at or above this value, so "" (always look at the entry) is the safe
// answer whenever a version cannot be parsed.
func latestFix(ranges []struct {
	Type   string `json:"type"`
	Events []struct {
		Introduced string `json:"introduced,omitempty"`
		Fixed      string `json:"fixed,omitempty"`
	} `json:"events"`
}) string {
	latest := ""
	for _, r := range ranges {
		if r.Type != "SEMVER" {
			continue
		}
		for _, ev := range r.Events {
			if ev.Fixed == "" {
				continue
			}
			if _, err := parse(ev.Fixed); err != nil {
				return ""
			}
			if less(latest, ev.Fixed) {
				latest = ev.Fixed
			}
		}
		for _, ev := range r.Events {
			if ev.Introduced != "" && ev.Introduced != "0" && less(latest, ev.Introduced) {
				latest = ""
				break
			}
		}
	}
	return latest
}

type version struct {
	nums [3]string
	pre  []string
}

// parse reads MAJOR.MINOR.PATCH[-PRERELEASE][+BUILD], with an optional
// "v" or "go" prefix, as golang.org/x/mod/semver does for full versions.
func parse(s string) (version, error) {
	var v version
	s = strings.TrimPrefix(strings.TrimPrefix(s, "go"), "v")
	if i := strings.IndexByte(s, '+'); i >= 0 {
		s = s[:i]
	}
	if i := strings.IndexByte(s, '-'); i >= 0 {
		if i == len(s)-1 {
			return v, errors.New("empty prerelease")
		}
		v.pre = strings.Split(s[i+1:], ".")
		for _, p := range v.pre {
			if p == "" || (isNum(p) && len(p) > 1 && p[0] == '0') {
				return v, fmt.Errorf("bad prerelease in %q", s)
			}
		}
		s = s[:i]
	}
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, fmt.Errorf("not MAJOR.MINOR.PATCH: %q", s)
	}
	for i, p := range parts {
		if !isNum(p) || (len(p) > 1 && p[0] == '0') {
			return v, fmt.Errorf("bad number in %q", s)
		}
		v.nums[i] = p
	}
	return v, nil
}

func isNum(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

func cmpNum(a, b string) int {
	if len(a) != len(b) {
		if len(a) < len(b) {
			return -1
		}
		return 1
	}
	return strings.Compare(a, b)
}

// less reports a < b; an unparsable version (such as "") sorts first,
// as in golang.org/x/mod/semver.
func less(a, b string) bool {
	va, ea := parse(a)
	vb, eb := parse(b)
	switch {
	case ea != nil && eb != nil:
		return false
	case ea != nil:
		return true
	case eb != nil:
		return false
	}
	for i := range va.nums {
		if c := cmpNum(va.nums[i], vb.nums[i]); c != 0 {
			return c < 0
		}
	}
	switch {
	case len(va.pre) == 0 && len(vb.pre) == 0:
		return false
	case len(va.pre) == 0:
		return false
	case len(vb.pre) == 0:
		return true
	}
	for i := 0; i < len(va.pre) && i < len(vb.pre); i++ {
		x, y := va.pre[i], vb.pre[i]
		if x == y {
			continue
		}
		nx, ny := isNum(x), isNum(y)
		switch {
		case nx && ny:
			return cmpNum(x, y) < 0
		case nx:
			return true
		case ny:
			return false
		default:
			return x < y
		}
	}
	return len(va.pre) < len(vb.pre)
}
