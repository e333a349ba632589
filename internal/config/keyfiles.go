package config

import (
	"crypto"
	"os"

	"github.com/authserver/authserver/internal/keys"
)

// keyFiles reads JWT_PRIVATE_KEY_FILE and JWT_VERIFY_KEY_FILES and checks that their keys suit alg.
// alg is "" when JWT_ALGORITHM is unknown; then the files are not read.
func (l *loader) keyFiles(alg string) (crypto.Signer, []crypto.PublicKey) {
	privatePath := l.value("JWT_PRIVATE_KEY_FILE")
	verifyPaths := splitList(l.value("JWT_VERIFY_KEY_FILES"))
	if alg == "" {
		return nil, nil
	}
	if !keys.IsAsymmetric(alg) {
		if privatePath != "" {
			l.fail("JWT_PRIVATE_KEY_FILE", "only for asymmetric algorithms (JWT_ALGORITHM is %s)", alg)
		}
		if len(verifyPaths) > 0 {
			l.fail("JWT_VERIFY_KEY_FILES", "only for asymmetric algorithms (JWT_ALGORITHM is %s)", alg)
		}
		return nil, nil
	}
	signer := l.signingKey(alg, privatePath)
	var verify []crypto.PublicKey
	for _, path := range verifyPaths {
		if pub := l.verifyKey(alg, path); pub != nil {
			verify = append(verify, pub)
		}
	}
	return signer, verify
}

// signingKey reads the private key at path, or returns nil after recording a problem.
func (l *loader) signingKey(alg, path string) crypto.Signer {
	const name = "JWT_PRIVATE_KEY_FILE"
	if path == "" {
		l.fail(name, "required when JWT_ALGORITHM is %s (make one with: server keys generate --alg %s)", alg, alg)
		return nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		l.fail(name, "cannot read it: %v", err)
		return nil
	}
	signer, err := keys.ParsePrivateKey(data)
	if err != nil {
		l.fail(name, "%s: %v", path, err)
		return nil
	}
	if err := keys.CheckAlgorithm(alg, signer.Public()); err != nil {
		l.fail(name, "%s: %v", path, err)
		return nil
	}
	return signer
}

// verifyKey reads the public key at path, or returns nil after recording a problem.
func (l *loader) verifyKey(alg, path string) crypto.PublicKey {
	const name = "JWT_VERIFY_KEY_FILES"
	data, err := os.ReadFile(path)
	if err != nil {
		l.fail(name, "cannot read it: %v", err)
		return nil
	}
	pub, err := keys.ParsePublicKey(data)
	if err != nil {
		l.fail(name, "%s: %v", path, err)
		return nil
	}
	if err := keys.CheckAlgorithm(alg, pub); err != nil {
		l.fail(name, "%s: %v", path, err)
		return nil
	}
	return pub
}
