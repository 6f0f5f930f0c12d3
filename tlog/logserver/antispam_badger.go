package logserver

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/dgraph-io/badger/v4"
)

// followedKey holds how many entries the badger index records; identity
// hashes are 32 bytes, so it cannot collide with one.
var followedKey = []byte("signet/followed")

// badgerStore is the de-duplication index of a log on the POSIX driver, a
// Badger database (Tessera's choice for POSIX) in the log's directory.
type badgerStore struct{ db *badger.DB }

func openBadgerStore(path string) (*badgerStore, error) {
	opts := badger.DefaultOptions(path).
		WithLogger(nil).
		WithMemTableSize(16 << 20).
		WithNumMemtables(2).
		WithBlockCacheSize(16 << 20).
		WithValueLogFileSize(64 << 20).
		WithValueThreshold(64) // index and position are 8-byte values: keep them in the LSM tree
	db, err := badger.Open(opts)
	if err != nil {
		return nil, fmt.Errorf("opening the de-duplication index in %s (is another log running on this directory?): %w", path, err)
	}
	return &badgerStore{db: db}, nil
}

func (s *badgerStore) lookup(_ context.Context, id []byte) (uint64, bool, error) {
	var idx uint64
	var ok bool
	err := s.db.View(func(txn *badger.Txn) error {
		v, err := getUint64(txn, id)
		idx, ok = v, err == nil
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	return idx, ok, err
}

func (s *badgerStore) followed(_ context.Context) (uint64, error) {
	var n uint64
	err := s.db.View(func(txn *badger.Txn) error {
		v, err := getUint64(txn, followedKey)
		n = v
		if errors.Is(err, badger.ErrKeyNotFound) {
			return nil
		}
		return err
	})
	return n, err
}

func (s *badgerStore) record(_ context.Context, from uint64, ids [][]byte) error {
	err := s.db.Update(func(txn *badger.Txn) error {
		at, err := getUint64(txn, followedKey)
		if err != nil && !errors.Is(err, badger.ErrKeyNotFound) {
			return err
		}
		if at != from {
			return errOutOfSync
		}
		for i, id := range ids {
			_, err := txn.Get(id)
			switch {
			case errors.Is(err, badger.ErrKeyNotFound):
				if err := txn.Set(id, binary.BigEndian.AppendUint64(nil, from+uint64(i))); err != nil {
					return err
				}
			case err != nil:
				return err
			}
		}
		return txn.Set(followedKey, binary.BigEndian.AppendUint64(nil, from+uint64(len(ids))))
	})
	if errors.Is(err, badger.ErrConflict) {
		return errOutOfSync
	}
	return err
}

func (s *badgerStore) reset(context.Context) error { return s.db.DropAll() }

func (s *badgerStore) close() error { return s.db.Close() }

func getUint64(txn *badger.Txn, key []byte) (uint64, error) {
	item, err := txn.Get(key)
	if err != nil {
		return 0, err
	}
	var n uint64
	err = item.Value(func(v []byte) error {
		if len(v) != 8 {
			return fmt.Errorf("de-duplication index holds a %d-byte value, want 8", len(v))
		}
		n = binary.BigEndian.Uint64(v)
		return nil
	})
	return n, err
}
