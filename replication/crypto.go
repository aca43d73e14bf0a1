package replication

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"fmt"
)

// Key hierarchy (see DESIGN.md):
//
//	Secret --HKDF-SHA256("palmtill store key v1"+StoreID)--> store key (KEK)
//	store key --AES-256-GCM wraps--> per-customer data key (DEK, random)
//	DEK --AES-256-GCM seals--> each template
//	Secret --HKDF-SHA256("palmtill badger key v1"+StoreID)--> Badger at-rest key
const (
	storeKeyInfo  = "palmtill store key v1"
	badgerKeyInfo = "palmtill badger key v1"
	// keyVersion is the first byte of every ciphertext this package makes:
	// the seam for rotating the store key.
	keyVersion = 1
	keyLen     = 32
	nonceLen   = 12
)

func deriveKey(secret []byte, info, storeID string) ([]byte, error) {
	k, err := hkdf.Key(sha256.New, secret, nil, info+storeID, keyLen)
	if err != nil {
		return nil, fmt.Errorf("derive key: %w", err)
	}
	return k, nil
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// seal returns keyVersion || nonce || GCM(plain, aad) with a random nonce.
func seal(aead cipher.AEAD, plain, aad []byte) ([]byte, error) {
	out := make([]byte, 1+nonceLen, 1+nonceLen+len(plain)+aead.Overhead())
	out[0] = keyVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("nonce: %w", err)
	}
	return aead.Seal(out, out[1:1+nonceLen], plain, aad), nil
}

func open(aead cipher.AEAD, ct, aad []byte) ([]byte, error) {
	if len(ct) < 1+nonceLen+aead.Overhead() || ct[0] != keyVersion {
		return nil, fmt.Errorf("%w: bad ciphertext header", ErrDecrypt)
	}
	p, err := aead.Open(nil, ct[1:1+nonceLen], ct[1+nonceLen:], aad)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrDecrypt, err)
	}
	return p, nil
}

// dekAAD binds a wrapped data key to its store and customer.
func dekAAD(storeID, customerID string) []byte {
	var e encoder
	e.str("palmtill dek v1")
	e.str(storeID)
	e.str(customerID)
	return e.b
}

// templateAAD binds a template ciphertext to its store, customer and
// position, so templates cannot be swapped between customers or reordered.
func templateAAD(storeID, customerID string, index int) []byte {
	var e encoder
	e.str("palmtill template v1")
	e.str(storeID)
	e.str(customerID)
	e.uvarint(uint64(index))
	return e.b
}

// sealEnrolment makes a fresh DEK, seals the templates under it and wraps
// it under the store key.
func (f *FSM) sealEnrolment(customerID string, plain [][]byte) (wrapped []byte, cts [][]byte, err error) {
	dek := make([]byte, keyLen)
	if _, err := rand.Read(dek); err != nil {
		return nil, nil, fmt.Errorf("data key: %w", err)
	}
	defer clear(dek)
	aead, err := newGCM(dek)
	if err != nil {
		return nil, nil, err
	}
	cts = make([][]byte, len(plain))
	for i, p := range plain {
		if cts[i], err = seal(aead, p, templateAAD(f.cfg.StoreID, customerID, i)); err != nil {
			return nil, nil, err
		}
	}
	wrapped, err = seal(f.kek, dek, dekAAD(f.cfg.StoreID, customerID))
	if err != nil {
		return nil, nil, err
	}
	return wrapped, cts, nil
}

// openTemplates unwraps the DEK and decrypts every template.
func (f *FSM) openTemplates(customerID string, wrapped []byte, cts [][]byte) ([][]byte, error) {
	dek, err := open(f.kek, wrapped, dekAAD(f.cfg.StoreID, customerID))
	if err != nil {
		return nil, fmt.Errorf("unwrap data key of %q: %w", customerID, err)
	}
	defer clear(dek)
	aead, err := newGCM(dek)
	if err != nil {
		return nil, err
	}
	out := make([][]byte, len(cts))
	for i, ct := range cts {
		if out[i], err = open(aead, ct, templateAAD(f.cfg.StoreID, customerID, i)); err != nil {
			return nil, fmt.Errorf("template %d of %q: %w", i, customerID, err)
		}
	}
	return out, nil
}
