package audit

import (
	"encoding/json"
	"testing"

	"github.com/authserver/authserver/internal/models"
)

// TestMarshalDetail: the detail written without reflection (request id and generation only)
// equals encoding/json's, and any other detail still goes through encoding/json whole.
func TestMarshalDetail(t *testing.T) {
	one, via := 1, "api"
	for _, d := range []models.AuditDetail{
		{},
		{RequestID: "req-1"},
		{Generation: 7},
		{RequestID: "<odd & \"quoted\">", Generation: -3},
		{RequestID: "req-2", Generation: 2, Sessions: &one},
		{RequestID: "req-3", AuditActor: &models.AuditActor{Via: via}},
		{Generation: 1, Reason: "x"},
	} {
		want, _ := json.Marshal(d)
		if got := marshalDetail(d); string(got) != string(want) {
			t.Errorf("marshalDetail(%+v) = %s, want %s", d, got, want)
		}
	}
}
