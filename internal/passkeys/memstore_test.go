package passkeys_test

import (
	"bytes"
	"context"
	"slices"
	"sync"
	"time"

	"github.com/authserver/authserver/internal/models"
)

// memStore keeps challenges and passkeys in memory, with the semantics the Store interface
// documents. The GORM store is tested against the same ceremonies once its tables exist.
type memStore struct {
	mu         sync.Mutex
	challenges map[string]models.WebAuthnChallenge
	passkeys   []models.Passkey
	users      map[string]models.User
}

func newMemStore() *memStore {
	return &memStore{challenges: map[string]models.WebAuthnChallenge{}, users: map[string]models.User{}}
}

func (m *memStore) addUser(u models.User) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.users[u.ID] = u
}

func (m *memStore) CreateChallenge(_ context.Context, c *models.WebAuthnChallenge) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, old := range m.challenges {
		if old.ExpiresAt.Before(c.CreatedAt) {
			delete(m.challenges, k)
		}
	}
	m.challenges[string(c.IDHash)] = *c
	return nil
}

func (m *memStore) TakeChallenge(_ context.Context, idHash []byte) (*models.WebAuthnChallenge, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c, ok := m.challenges[string(idHash)]
	if !ok {
		return nil, models.ErrNotFound
	}
	delete(m.challenges, string(idHash))
	return &c, nil
}

func (m *memStore) Passkeys(_ context.Context, userID string) ([]models.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []models.Passkey
	for _, p := range m.passkeys {
		if p.UserID == userID {
			out = append(out, p)
		}
	}
	return out, nil
}

func (m *memStore) PasskeyByCredentialID(_ context.Context, credentialID []byte) (*models.Passkey, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, p := range m.passkeys {
		if bytes.Equal(p.CredentialID, credentialID) {
			u := m.users[p.UserID]
			p.User = &u
			return &p, nil
		}
	}
	return nil, models.ErrNotFound
}

func (m *memStore) CreatePasskey(_ context.Context, p *models.Passkey) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, old := range m.passkeys {
		if bytes.Equal(old.CredentialID, p.CredentialID) {
			return models.ErrPasskeyExists
		}
	}
	m.passkeys = append(m.passkeys, *p)
	return nil
}

func (m *memStore) UsePasskey(_ context.Context, id string, oldCount, newCount int64, backupState bool, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for i, p := range m.passkeys {
		if p.ID == id && p.SignCount == oldCount {
			m.passkeys[i].SignCount, m.passkeys[i].BackupState, m.passkeys[i].LastUsedAt = newCount, backupState, &at
			return nil
		}
	}
	return models.ErrNotFound
}

func (m *memStore) DeletePasskey(_ context.Context, userID, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	i := slices.IndexFunc(m.passkeys, func(p models.Passkey) bool { return p.ID == id && p.UserID == userID })
	if i < 0 {
		return models.ErrNotFound
	}
	m.passkeys = slices.Delete(m.passkeys, i, i+1)
	return nil
}
