package mfa_test

import (
	"bytes"
	"encoding/base64"
	"image/png"
	"strings"
	"testing"

	"github.com/authserver/authserver/internal/mfa"
)

func TestQRCode(t *testing.T) {
	e, err := mfa.NewEnrolment("auth-server", "alice@example.com")
	if err != nil {
		t.Fatal(err)
	}
	got, err := mfa.QRCode(e.URL)
	if err != nil {
		t.Fatalf("QRCode = %v", err)
	}
	const prefix = "data:image/png;base64,"
	if !strings.HasPrefix(got, prefix) {
		t.Fatalf("QRCode = %.40q..., want a PNG data URL", got)
	}
	raw, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(got, prefix))
	if err != nil {
		t.Fatalf("data URL body is not base64: %v", err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("png.Decode = %v", err)
	}
	b := img.Bounds()
	if b.Dx() != 256 || b.Dy() != 256 {
		t.Fatalf("QR image is %dx%d, want 256x256", b.Dx(), b.Dy())
	}
	// A QR code is black modules on white: both colours are present.
	dark, light := 0, 0
	for y := b.Min.Y; y < b.Max.Y; y += 4 {
		for x := b.Min.X; x < b.Max.X; x += 4 {
			if r, _, _, _ := img.At(x, y).RGBA(); r < 0x8000 {
				dark++
			} else {
				light++
			}
		}
	}
	if dark == 0 || light == 0 {
		t.Errorf("QR image has %d dark and %d light samples, want both", dark, light)
	}
}

func TestQRCodeRefusesOversizedInput(t *testing.T) {
	if _, err := mfa.QRCode("otpauth://totp/x?secret=" + strings.Repeat("A", 5000)); err == nil {
		t.Error("QRCode(5000-character url) = nil error, want a QR capacity error")
	}
}
