// Package docs holds the OpenAPI document of the HTTP API. openapi.yaml is the one source;
// openapi.json is the same document as JSON, generated from it and kept in step by
// TestOpenAPIJSONIsTheYAML, embedded in the binary and served at GET /openapi.json as it is,
// so the server parses no YAML when it starts.
package docs

import _ "embed"

//go:embed openapi.json
var openAPIJSON []byte

// OpenAPIJSON returns the OpenAPI document as JSON. The caller must not change it.
func OpenAPIJSON() []byte { return openAPIJSON }
