package auth

import (
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/trustelem/zxcvbn/frequency"
	"golang.org/x/text/cases"
	"golang.org/x/text/unicode/norm"
)

// The password policy follows NIST SP 800-63B (5.1.1.2): every Unicode character is allowed, the
// password is normalised with NFKC, its length is counted in code points, there are no composition
// rules, and a password found on a list of common passwords, derived from the account, or
// repetitive or sequential is refused. No strength estimator is used: the one this server had
// measured multi-byte text wrongly and refused good passphrases in most scripts.

// minSurprises is how many code points of a password must follow neither from the one before
// (the same, one up or one down) nor from the step between the two before; fewer is "aaaaaaaa",
// "12345678", "1234abcd" or "zyxwvuts".
const minSurprises = 3

// minDistinct is the fewest distinct code points a password may have ("abbbbbbbba" has two).
const minDistinct = 3

// normalisePassword returns the form of a password that is checked and hashed: its NFKC
// normalisation, so that one passphrase typed with composed or decomposed accents, full-width
// or half-width forms, or compatibility ligatures gives one hash. ASCII text is its own NFKC form,
// so the hashes of ASCII passwords are the same as before normalisation was introduced.
func normalisePassword(p string) string { return norm.NFKC.String(p) }

// foldPassword returns the form compared with the common-password list and the email address:
// NFKC, full Unicode case folding, then NFKC again (folding can undo a normalisation).
// A cases.Caser keeps state, so each call makes its own.
func foldPassword(p string) string {
	return norm.NFKC.String(cases.Fold().String(norm.NFKC.String(p)))
}

// commonPasswords is the set of the 30,000 most common passwords of the zxcvbn project's
// "passwords" list (github.com/trustelem/zxcvbn, MIT; drawn from leaked password corpora),
// each in its folded form.
var commonPasswords = sync.OnceValue(func() map[string]struct{} {
	list := frequency.FrequencyLists["passwords"]
	set := make(map[string]struct{}, len(list))
	for _, p := range list {
		set[foldPassword(p)] = struct{}{}
	}
	return set
})

// checkPassword applies the password policy to password for the account email and returns the
// problem, or "": valid UTF-8; at least minLen code points and at most 72 bytes in its NFKC form
// (what is hashed); not the email or its local part; not on the common-password list; not
// repetitive or sequential. Comparisons use the folded form, so case does not matter.
func checkPassword(password, email string, minLen int) string {
	if !utf8.ValidString(password) {
		return "must be valid UTF-8"
	}
	normal := normalisePassword(password)
	switch {
	case utf8.RuneCountInString(normal) < minLen:
		return fmt.Sprintf("must be at least %d characters", minLen)
	case len(normal) > maxPasswordBytes:
		return fmt.Sprintf("must be at most %d bytes (in Unicode NFKC form)", maxPasswordBytes)
	}
	folded := foldPassword(normal)
	local, _, _ := strings.Cut(email, "@")
	if folded == foldPassword(email) || folded == foldPassword(local) {
		return "must not be your email address"
	}
	if _, common := commonPasswords()[folded]; common {
		return "is too common; choose a less common password"
	}
	if trivial([]rune(folded)) {
		return "is too easy to guess: it repeats or counts; a longer passphrase works best"
	}
	return ""
}

// trivial reports whether rs is repetitive or sequential: a short unit repeated at least twice
// ("abcabcab", "passpass"), fewer than minDistinct different code points, or fewer than
// minSurprises code points that do not follow from the ones before them.
func trivial(rs []rune) bool {
	for period := 1; period <= len(rs)/2; period++ {
		if repeats(rs, period) {
			return true
		}
	}
	distinct := make(map[rune]struct{}, len(rs))
	for _, r := range rs {
		distinct[r] = struct{}{}
	}
	if len(distinct) < minDistinct {
		return true
	}
	surprises := 0
	for n, r := range rs {
		switch {
		case n == 0:
			surprises++
		case abs(r-rs[n-1]) <= 1:
		case n >= 2 && r-rs[n-1] == rs[n-1]-rs[n-2]:
		default:
			surprises++
		}
	}
	return surprises < minSurprises
}

// repeats reports whether every code point of rs equals the one period places before it.
func repeats(rs []rune, period int) bool {
	for n := period; n < len(rs); n++ {
		if rs[n] != rs[n-period] {
			return false
		}
	}
	return true
}

// abs returns the absolute value of r.
func abs(r rune) rune {
	if r < 0 {
		return -r
	}
	return r
}
