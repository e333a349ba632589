package handlers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"

	"github.com/authserver/authserver/internal/auth"
	"github.com/authserver/authserver/internal/middleware"
)

// validator is a request type that reports its own problems, one message per JSON field.
type validator interface {
	Valid() map[string]string
}

// decodeValid reads a JSON body of at most maxBodyBytes into a T and validates it. On failure it
// records the error (413 PAYLOAD_TOO_LARGE, 400 INVALID_JSON or 400 VALIDATION_ERROR with details
// for unknown fields, wrong types and invalid values) and returns false.
func decodeValid[T validator](c *gin.Context) (T, bool) {
	var v T
	if err := decodeJSON(c, &v, false); err != nil {
		middleware.Fail(c, err)
		return v, false
	}
	if problems := v.Valid(); len(problems) > 0 {
		middleware.Fail(c, validationError(problems))
		return v, false
	}
	return v, true
}

// decodeJSON reads the body into v, which must point to a struct. With optional, an empty body
// leaves v as it is.
func decodeJSON(c *gin.Context, v any, optional bool) error {
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if middleware.IsTooLarge(err) {
			return middleware.ErrPayloadTooLarge
		}
		return fmt.Errorf("read request body: %w", errors.Join(middleware.ErrInvalidJSON, err))
	}
	if optional && len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(body, &fields); err != nil || fields == nil {
		return middleware.ErrInvalidJSON
	}
	known := jsonFields(reflect.TypeOf(v).Elem())
	var problems map[string]string
	for name := range fields {
		if !known[name] {
			if problems == nil {
				problems = map[string]string{}
			}
			problems[name] = "is not a known field"
		}
	}
	if problems != nil {
		return validationError(problems)
	}
	var typeErr *json.UnmarshalTypeError
	if err := json.Unmarshal(body, v); errors.As(err, &typeErr) {
		return validationError(map[string]string{typeErr.Field: "must be a " + jsonKind(typeErr.Type.Kind())})
	} else if err != nil {
		return middleware.ErrInvalidJSON
	}
	return nil
}

// fieldSets caches, per struct type, the JSON names of its fields.
var fieldSets sync.Map // reflect.Type -> map[string]bool

// jsonFields returns the JSON field names of struct type t.
func jsonFields(t reflect.Type) map[string]bool {
	if set, ok := fieldSets.Load(t); ok {
		return set.(map[string]bool)
	}
	set := map[string]bool{}
	for f := range t.Fields() {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "" {
			name = f.Name
		}
		if name != "-" {
			set[name] = true
		}
	}
	fieldSets.Store(t, set)
	return set
}

// jsonKind names a Go kind the way a JSON client would.
func jsonKind(k reflect.Kind) string {
	switch k {
	case reflect.String:
		return "string"
	case reflect.Bool:
		return "boolean"
	case reflect.Struct, reflect.Map:
		return "object"
	case reflect.Slice, reflect.Array:
		return "array"
	default:
		return "number"
	}
}

// validationError is a 400 VALIDATION_ERROR listing the problem of each field.
func validationError(details map[string]string) error {
	return &auth.ValidationError{Fields: details}
}
