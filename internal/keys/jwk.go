package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"math/big"
)

// JWK is the public half of a signing key as a JSON Web Key (RFC 7517), as the JWKS endpoint lists it.
type JWK struct {
	Kty string `json:"kty"`           // "RSA", "EC" or "OKP"
	KID string `json:"kid"`           // RFC 7638 thumbprint, as KID computes it
	Use string `json:"use"`           // always "sig"
	Alg string `json:"alg"`           // the JOSE algorithm the key verifies
	N   string `json:"n,omitempty"`   // RSA modulus
	E   string `json:"e,omitempty"`   // RSA public exponent
	Crv string `json:"crv,omitempty"` // "P-256" or "Ed25519"
	X   string `json:"x,omitempty"`   // EC or OKP x coordinate
	Y   string `json:"y,omitempty"`   // EC y coordinate
}

// PublicJWK describes pub as a JWK for alg, with its KID and use "sig".
// It returns CheckAlgorithm's error when pub cannot verify alg signatures.
func PublicJWK(alg string, pub crypto.PublicKey) (JWK, error) {
	if err := CheckAlgorithm(alg, pub); err != nil {
		return JWK{}, err
	}
	j, err := members(pub)
	if err != nil {
		return JWK{}, err
	}
	j.KID = thumbprint(j)
	j.Use = "sig"
	j.Alg = alg
	return j, nil
}

// KID returns the RFC 7638 thumbprint of pub: the SHA-256 of its required JWK members,
// base64url-encoded without padding. It returns an error wrapping ErrUnsupportedKey
// for a key that is not RSA, ECDSA (P-256, P-384 or P-521) or Ed25519.
func KID(pub crypto.PublicKey) (string, error) {
	j, err := members(pub)
	if err != nil {
		return "", err
	}
	return thumbprint(j), nil
}

// members returns the key-type members of pub's JWK (kty, and n and e, or crv, x and y).
func members(pub crypto.PublicKey) (JWK, error) {
	b64 := base64.RawURLEncoding.EncodeToString
	switch k := pub.(type) {
	case *rsa.PublicKey:
		e := big.NewInt(int64(k.E)).Bytes()
		return JWK{Kty: "RSA", N: b64(k.N.Bytes()), E: b64(e)}, nil
	case *ecdsa.PublicKey:
		point, err := k.Bytes() // 0x04 | x | y, each coordinate padded to the field size
		if err != nil {
			return JWK{}, fmt.Errorf("%w: %w", ErrUnsupportedKey, err)
		}
		size := (len(point) - 1) / 2
		return JWK{
			Kty: "EC",
			Crv: k.Curve.Params().Name,
			X:   b64(point[1 : 1+size]),
			Y:   b64(point[1+size:]),
		}, nil
	case ed25519.PublicKey:
		return JWK{Kty: "OKP", Crv: "Ed25519", X: b64(k)}, nil
	default:
		return JWK{}, fmt.Errorf("%w: %T", ErrUnsupportedKey, pub)
	}
}

// thumbprint hashes the required members of j in lexicographic order, without white space (RFC 7638 section 3.2).
// The member values are base64url strings and fixed names, so none needs JSON escaping.
func thumbprint(j JWK) string {
	var canonical string
	switch j.Kty {
	case "RSA":
		canonical = `{"e":"` + j.E + `","kty":"RSA","n":"` + j.N + `"}`
	case "EC":
		canonical = `{"crv":"` + j.Crv + `","kty":"EC","x":"` + j.X + `","y":"` + j.Y + `"}`
	case "OKP":
		canonical = `{"crv":"` + j.Crv + `","kty":"OKP","x":"` + j.X + `"}`
	}
	sum := sha256.Sum256([]byte(canonical))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
