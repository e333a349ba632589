package mfa

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"strings"
)

// Sealed TOTP secrets look like "v1.<key id>.<base64url(nonce || AES-256-GCM ciphertext)>". The version
// names the scheme (HKDF-SHA256 key derivation, AES-256-GCM, the user id as additional data); the key id
// is a short fingerprint of the derived key, so a secret sealed under another server secret is told apart
// from a damaged one.
const (
	sealVersion = "v1"
	sealKeyInfo = "authserver/totp/v1"
	sealIDInfo  = "authserver/totp/v1/key-id"
	sealKeySize = 32 // AES-256
	sealIDSize  = 4
)

var (
	// ErrSealedUnderOtherKey means a sealed secret was made with another server secret (it was rotated);
	// the secret cannot be read again and its owner has to enrol anew.
	ErrSealedUnderOtherKey = errors.New("totp secret sealed under another server secret")
	// ErrSealedCorrupt means a sealed secret is malformed, was altered, or belongs to another user.
	ErrSealedCorrupt = errors.New("sealed totp secret is corrupt")
)

// Sealer encrypts TOTP secrets for storage with a key derived from a server secret. It is safe for
// concurrent use.
type Sealer struct {
	id   string
	aead cipher.AEAD
}

// NewSealer derives the sealing key from serverSecret with HKDF-SHA256. The secret must hold at least
// 32 bytes; a shorter one is an error.
func NewSealer(serverSecret []byte) (*Sealer, error) {
	if len(serverSecret) < 32 {
		return nil, errors.New("totp sealing secret must hold at least 32 bytes")
	}
	key, err := hkdf.Key(sha256.New, serverSecret, nil, sealKeyInfo, sealKeySize)
	if err != nil {
		return nil, fmt.Errorf("derive totp sealing key: %w", err)
	}
	id, err := hkdf.Key(sha256.New, serverSecret, nil, sealIDInfo, sealIDSize)
	if err != nil {
		return nil, fmt.Errorf("derive totp key id: %w", err)
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("totp sealing cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("totp sealing cipher: %w", err)
	}
	return &Sealer{id: hex.EncodeToString(id), aead: aead}, nil
}

// LogValue keeps the key out of every log.
func (s *Sealer) LogValue() slog.Value { return slog.StringValue("[redacted]") }

// Seal encrypts secret for the user userID; only Open with the same user id reads it back.
func (s *Sealer) Seal(userID, secret string) (string, error) {
	nonce := make([]byte, s.aead.NonceSize(), s.aead.NonceSize()+len(secret)+s.aead.Overhead())
	if _, err := rand.Read(nonce); err != nil {
		return "", fmt.Errorf("totp sealing nonce: %w", err)
	}
	out := s.aead.Seal(nonce, nonce, []byte(secret), additionalData(userID))
	return sealVersion + "." + s.id + "." + base64.RawURLEncoding.EncodeToString(out), nil
}

// Open decrypts a value Seal made for userID. It fails with ErrSealedUnderOtherKey when the value was
// sealed under another server secret, and ErrSealedCorrupt when it is malformed, altered or another user's.
func (s *Sealer) Open(userID, sealed string) (string, error) {
	version, rest, ok := strings.Cut(sealed, ".")
	if !ok || version != sealVersion {
		return "", ErrSealedCorrupt
	}
	id, body, ok := strings.Cut(rest, ".")
	if !ok {
		return "", ErrSealedCorrupt
	}
	if id != s.id {
		return "", ErrSealedUnderOtherKey
	}
	raw, err := base64.RawURLEncoding.DecodeString(body)
	if err != nil || len(raw) < s.aead.NonceSize() {
		return "", ErrSealedCorrupt
	}
	nonce, ciphertext := raw[:s.aead.NonceSize()], raw[s.aead.NonceSize():]
	plain, err := s.aead.Open(nil, nonce, ciphertext, additionalData(userID))
	if err != nil {
		return "", ErrSealedCorrupt
	}
	return string(plain), nil
}

func additionalData(userID string) []byte {
	return []byte(sealKeyInfo + "|" + userID)
}
