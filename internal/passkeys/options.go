package passkeys

import (
	"github.com/go-webauthn/webauthn/protocol"
)

// The option types below are the JSON forms of the WebAuthn dictionaries that
// PublicKeyCredential.parseCreationOptionsFromJSON() and parseRequestOptionsFromJSON() take:
// binary members are base64url strings without padding, and every list is present, empty
// rather than null.

// CreationOptions is the publicKey member for navigator.credentials.create().
type CreationOptions struct {
	RP                     RPEntity                  `json:"rp"`
	User                   UserEntity                `json:"user"`
	Challenge              protocol.URLEncodedBase64 `json:"challenge"`
	PubKeyCredParams       []CredentialParameter     `json:"pubKeyCredParams"`
	Timeout                int64                     `json:"timeout"`
	ExcludeCredentials     []CredentialDescriptor    `json:"excludeCredentials"`
	AuthenticatorSelection AuthenticatorSelection    `json:"authenticatorSelection"`
	Hints                  []string                  `json:"hints"`
	Attestation            string                    `json:"attestation"`
	AttestationFormats     []string                  `json:"attestationFormats"`
}

// RequestOptions is the publicKey member for navigator.credentials.get().
type RequestOptions struct {
	Challenge        protocol.URLEncodedBase64 `json:"challenge"`
	Timeout          int64                     `json:"timeout"`
	RPID             string                    `json:"rpId"`
	AllowCredentials []CredentialDescriptor    `json:"allowCredentials"`
	UserVerification string                    `json:"userVerification"`
	Hints            []string                  `json:"hints"`
}

// RPEntity names the relying party.
type RPEntity struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// UserEntity names the account a credential is created for; ID is the user handle.
type UserEntity struct {
	ID          protocol.URLEncodedBase64 `json:"id"`
	Name        string                    `json:"name"`
	DisplayName string                    `json:"displayName"`
}

// CredentialParameter is one acceptable public-key algorithm (a COSE algorithm number).
type CredentialParameter struct {
	Type string `json:"type"`
	Alg  int64  `json:"alg"`
}

// CredentialDescriptor names an existing credential.
type CredentialDescriptor struct {
	Type       string                    `json:"type"`
	ID         protocol.URLEncodedBase64 `json:"id"`
	Transports []string                  `json:"transports"`
}

// AuthenticatorSelection states what the authenticator must do: keep a discoverable
// credential and verify the user.
type AuthenticatorSelection struct {
	ResidentKey        string `json:"residentKey"`
	RequireResidentKey bool   `json:"requireResidentKey"`
	UserVerification   string `json:"userVerification"`
}

// creationOptions turns the library's creation options into their JSON form.
func creationOptions(o protocol.PublicKeyCredentialCreationOptions) CreationOptions {
	params := make([]CredentialParameter, 0, len(o.Parameters))
	for _, p := range o.Parameters {
		params = append(params, CredentialParameter{Type: string(p.Type), Alg: int64(p.Algorithm)})
	}
	userID, _ := o.User.ID.(protocol.URLEncodedBase64)
	return CreationOptions{
		RP:                 RPEntity{ID: o.RelyingParty.ID, Name: o.RelyingParty.Name},
		User:               UserEntity{ID: userID, Name: o.User.Name, DisplayName: o.User.DisplayName},
		Challenge:          o.Challenge,
		PubKeyCredParams:   params,
		Timeout:            int64(o.Timeout),
		ExcludeCredentials: descriptors(o.CredentialExcludeList),
		AuthenticatorSelection: AuthenticatorSelection{
			ResidentKey:        string(o.AuthenticatorSelection.ResidentKey),
			RequireResidentKey: o.AuthenticatorSelection.RequireResidentKey != nil && *o.AuthenticatorSelection.RequireResidentKey,
			UserVerification:   string(o.AuthenticatorSelection.UserVerification),
		},
		Hints:              []string{},
		Attestation:        string(o.Attestation),
		AttestationFormats: []string{},
	}
}

// requestOptions turns the library's request options into their JSON form.
func requestOptions(o protocol.PublicKeyCredentialRequestOptions) RequestOptions {
	return RequestOptions{
		Challenge:        o.Challenge,
		Timeout:          int64(o.Timeout),
		RPID:             o.RelyingPartyID,
		AllowCredentials: descriptors(o.AllowedCredentials),
		UserVerification: string(o.UserVerification),
		Hints:            []string{},
	}
}

// descriptors turns credential descriptors into their JSON form, never nil.
func descriptors(list []protocol.CredentialDescriptor) []CredentialDescriptor {
	out := make([]CredentialDescriptor, 0, len(list))
	for _, d := range list {
		transports := make([]string, 0, len(d.Transport))
		for _, t := range d.Transport {
			transports = append(transports, string(t))
		}
		out = append(out, CredentialDescriptor{Type: string(d.Type), ID: d.CredentialID, Transports: transports})
	}
	return out
}
