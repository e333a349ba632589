package mfa

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math/big"
	"strings"
)

// Recovery codes are RecoveryCodeCount codes of recoveryLength characters from an alphabet without the
// look-alikes 0/o, 1/l/i, shown in groups of four ("7xkq-m3fa-r9tp"). 31 symbols to the power 12 give
// about 59.4 random bits per code.
const (
	RecoveryCodeCount = 10
	recoveryAlphabet  = "23456789abcdefghjkmnpqrstuvwxyz"
	recoveryLength    = 12
	recoveryGroup     = 4
)

// NewRecoveryCodes returns a fresh set of RecoveryCodeCount codes in their display form.
func NewRecoveryCodes() ([]string, error) {
	codes := make([]string, RecoveryCodeCount)
	limit := big.NewInt(int64(len(recoveryAlphabet)))
	for i := range codes {
		var b strings.Builder
		for j := 0; j < recoveryLength; j++ {
			if j > 0 && j%recoveryGroup == 0 {
				b.WriteByte('-')
			}
			n, err := rand.Int(rand.Reader, limit)
			if err != nil {
				return nil, fmt.Errorf("recovery code: %w", err)
			}
			b.WriteByte(recoveryAlphabet[n.Int64()])
		}
		codes[i] = b.String()
	}
	return codes, nil
}

// HashRecoveryCode returns the stored form of a recovery code of user userID: the hex SHA-256 of the user
// id and the normalised code (lower case, dashes and spaces dropped). A single fast hash suffices because
// the codes are uniformly random with about 59 bits each: there is no dictionary to try, guessing online
// is capped by the per-account lockout, and the user id in the hash makes an offline search of a leaked
// table cost the full 2^59 per user, not once for all users. A code of the wrong length or with a
// character outside the alphabet is ErrInvalidCode.
func HashRecoveryCode(userID, code string) (string, error) {
	norm, ok := normaliseRecovery(code)
	if !ok {
		return "", ErrInvalidCode
	}
	sum := sha256.Sum256([]byte(userID + "\x00" + norm))
	return hex.EncodeToString(sum[:]), nil
}

func normaliseRecovery(code string) (string, bool) {
	var b strings.Builder
	for _, r := range code {
		switch {
		case r == '-' || r == ' ':
			continue
		case r >= 'A' && r <= 'Z':
			r += 'a' - 'A'
		}
		if !strings.ContainsRune(recoveryAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
		if b.Len() > recoveryLength {
			return "", false
		}
	}
	if b.Len() != recoveryLength {
		return "", false
	}
	return b.String(), true
}
