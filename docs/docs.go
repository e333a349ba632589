// Package docs holds the OpenAPI document of the HTTP API (openapi.yaml, the one source), embedded
// in the binary and served as JSON at GET /openapi.json.
package docs

import (
	_ "embed"
	"fmt"

	"github.com/goccy/go-yaml"
)

//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIJSON returns openapi.yaml converted to JSON. It fails only when the file is not valid
// YAML, which the tests rule out.
func OpenAPIJSON() ([]byte, error) {
	b, err := yaml.YAMLToJSON(openAPIYAML)
	if err != nil {
		return nil, fmt.Errorf("convert docs/openapi.yaml to JSON: %w", err)
	}
	return b, nil
}
