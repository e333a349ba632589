package docs_test

import (
	"bytes"
	"flag"
	"os"
	"testing"

	"github.com/goccy/go-yaml"

	"github.com/authserver/authserver/docs"
)

var update = flag.Bool("update", false, "rewrite openapi.json from openapi.yaml")

// TestOpenAPIJSONIsTheYAML: openapi.json, which the server serves, is openapi.yaml converted to
// JSON. After editing openapi.yaml, run go test ./docs -run TestOpenAPIJSONIsTheYAML -update.
func TestOpenAPIJSONIsTheYAML(t *testing.T) {
	src, err := os.ReadFile("openapi.yaml")
	if err != nil {
		t.Fatal(err)
	}
	want, err := yaml.YAMLToJSON(src)
	if err != nil {
		t.Fatalf("openapi.yaml is not valid YAML: %v", err)
	}
	if *update {
		if err := os.WriteFile("openapi.json", want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	if !bytes.Equal(docs.OpenAPIJSON(), want) {
		t.Error("docs/openapi.json is not docs/openapi.yaml as JSON: run go test ./docs -run TestOpenAPIJSONIsTheYAML -update")
	}
}
