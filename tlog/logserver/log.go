package logserver

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/cyberphone/json-canonicalization/go/src/webpki.org/jsoncanonicalizer"
	protocommon "github.com/sigstore/protobuf-specs/gen/pb-go/common/v1"
	rekorpb "github.com/sigstore/protobuf-specs/gen/pb-go/rekor/v1"
	pb "github.com/sigstore/rekor-tiles/v2/pkg/generated/protobuf"
	rnote "github.com/sigstore/rekor-tiles/v2/pkg/note"
	"github.com/sigstore/rekor-tiles/v2/pkg/types/hashedrekord"
	"github.com/sigstore/sigstore/pkg/signature"
	"github.com/transparency-dev/formats/log"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/api/layout"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/signet-dev/signet/internal/atomicfile"
	"github.com/signet-dev/signet/tlog"
	"google.golang.org/protobuf/encoding/protojson"
)

// ErrInvalidEntry means a submitted entry was refused: malformed, or its
// signature does not verify. Nothing was appended.
var ErrInvalidEntry = errors.New("invalid log entry")

// dedupDir is the POSIX log's de-duplication index inside its directory.
const dedupDir = "dedup"

// Log is an embedded, append-only transparency log. It is safe for
// concurrent use; appends are batched.
type Log struct {
	origin   string
	dir      string
	pub      crypto.PublicKey
	logID    []byte
	appender *tessera.Appender
	reader   tessera.LogReader
	awaiter  *tessera.PublicationAwaiter
	shutdown func(context.Context) error
	algs     *signature.AlgorithmRegistryConfig
	cancel   context.CancelFunc
	dedup    *antispam

	// mu guards closed; inflight counts appends whose index is not yet
	// known, which Close waits for: Tessera resolves them only while running.
	mu       sync.RWMutex
	closed   bool
	inflight sync.WaitGroup

	prover prover

	cpVerifier note.Verifier
	lastCP     atomic.Pointer[verifiedCheckpoint]
}

// ErrNotThisLog means the storage holds a tree this log may not sign: its
// checkpoint is signed by another key or names another origin, or the log's
// key is missing.
var ErrNotThisLog = errors.New("the storage holds a tree this key and origin may not sign")

// ErrClosed means the log is shutting down; the entry was not taken.
var ErrClosed = errors.New("the log is shutting down")

// LogOption configures Open.
type LogOption func(*logConfig)

type logConfig struct {
	batchSize     uint
	batchAge      time.Duration
	checkpoint    time.Duration
	checkpointSet bool
	mysql         *MySQLTarget
	followEvery   time.Duration // how often the de-duplication index follows the tree; tests only
}

// WithBatching sets how many entries are sequenced together and how long an
// entry may wait for its batch. Default 256 entries, 10ms.
func WithBatching(size uint, age time.Duration) LogOption {
	return func(c *logConfig) { c.batchSize, c.batchAge = size, age }
}

// WithCheckpointInterval sets how often a new checkpoint is signed. Default
// the storage driver's minimum: 100ms on POSIX, 1s on MySQL; an append waits
// for the next checkpoint.
func WithCheckpointInterval(d time.Duration) LogOption {
	return func(c *logConfig) { c.checkpoint, c.checkpointSet = d, true }
}

// WithMySQL keeps the log's tree, entries, checkpoint and de-duplication
// index in a MySQL or MariaDB database instead of the log directory, which
// then holds only the signing key. Several Logs (front-ends) may share one
// database: they append to one tree. Default: POSIX files in the directory.
func WithMySQL(t MySQLTarget) LogOption {
	return func(c *logConfig) { c.mysql = &t }
}

// Open opens the log in dir, creating it and its Ed25519 signing key (mode
// 0600) on first use. origin names the log in its checkpoints; Sigstore
// verifiers expect the host name of the log's URL. The tree is kept as POSIX
// files in dir/tiles, its de-duplication index in dir/dedup (WithMySQL keeps
// both in a database). Open returns once the index records every entry in
// the tree, so a resubmitted entry is answered with its original index.
func Open(openCtx context.Context, dir, origin string, opts ...LogOption) (*Log, error) {
	ctx := openCtx
	cfg := logConfig{batchSize: 256, batchAge: 10 * time.Millisecond, checkpoint: 100 * time.Millisecond}
	for _, o := range opts {
		o(&cfg)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("creating log directory: %w", err)
	}
	algs, err := signature.NewAlgorithmRegistryConfig(defaultAlgorithms)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
	driver, dedup, lastCP, err := openStorage(ctx, dir, &cfg)
	if err != nil {
		cancel()
		return nil, err
	}
	// The key is made only for a new tree, and only this log's key and
	// origin may sign a tree that has a checkpoint.
	priv, err := ownKey(ctx, tlog.KeyPath(dir), origin, lastCP)
	if err != nil {
		cancel()
		dedup.close()
		return nil, err
	}
	signer, err := signature.LoadED25519Signer(priv)
	if err != nil {
		cancel()
		dedup.close()
		return nil, err
	}
	noteSigner, err := rnote.NewNoteSigner(ctx, origin, signer)
	if err != nil {
		cancel()
		dedup.close()
		return nil, fmt.Errorf("making checkpoint signer: %w", err)
	}
	pub := priv.Public()
	_, logID, err := rnote.KeyHash(origin, pub)
	if err != nil {
		cancel()
		dedup.close()
		return nil, err
	}
	aopts := tessera.NewAppendOptions().
		WithCheckpointSigner(noteSigner).
		WithBatching(cfg.batchSize, cfg.batchAge).
		WithCheckpointInterval(cfg.checkpoint).
		WithAntispam(tessera.DefaultAntispamInMemorySize, dedup)
	appender, shutdown, reader, err := tessera.NewAppender(ctx, driver, aopts)
	if err != nil {
		cancel()
		dedup.close()
		return nil, fmt.Errorf("starting log appender: %w", err)
	}
	nv, err := checkpointVerifier(origin, pub.(ed25519.PublicKey))
	if err != nil {
		cancel()
		dedup.close()
		return nil, err
	}
	l := &Log{
		origin: origin, dir: dir, pub: pub, logID: logID, cpVerifier: nv,
		appender: appender, reader: reader, shutdown: shutdown, algs: algs, cancel: cancel, dedup: dedup,
		awaiter: tessera.NewPublicationAwaiter(ctx, reader.ReadCheckpoint, awaitPoll(cfg.checkpoint)),
	}
	dedup.reader = reader
	// A restarted log must know every entry it holds before it takes one.
	if err := dedup.sync(openCtx, reader); err != nil {
		l.Close(context.WithoutCancel(openCtx))
		return nil, err
	}
	return l, nil
}

// awaitPoll is how often appends waiting for a checkpoint look for one: a
// twentieth of the interval (5ms on POSIX), at most 20ms.
func awaitPoll(checkpoint time.Duration) time.Duration {
	return min(checkpoint/20, 20*time.Millisecond)
}

// openStorage opens the configured Tessera driver and its de-duplication
// index, and reads the checkpoint the storage holds (nil for a new tree).
func openStorage(ctx context.Context, dir string, cfg *logConfig) (tessera.Driver, *antispam, []byte, error) {
	if cfg.mysql != nil {
		if !cfg.checkpointSet {
			cfg.checkpoint = mysqlMinCheckpoint
		}
		driver, store, err := openMySQL(ctx, *cfg.mysql)
		if err != nil {
			return nil, nil, nil, err
		}
		cp, err := store.checkpoint(ctx)
		if err != nil {
			store.close()
			return nil, nil, nil, fmt.Errorf("reading the checkpoint in %s: %w", cfg.mysql, err)
		}
		return driver, newAntispam(store, cfg.followEvery), cp, nil
	}
	tiles := filepath.Join(dir, "tiles")
	cp, err := os.ReadFile(filepath.Join(tiles, layout.CheckpointPath))
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, nil, nil, fmt.Errorf("reading the log's checkpoint: %w", err)
	}
	store, err := openBadgerStore(filepath.Join(dir, dedupDir))
	if err != nil {
		return nil, nil, nil, err
	}
	driver, err := posix.New(ctx, posix.Config{Path: tiles})
	if err != nil {
		store.close()
		return nil, nil, nil, fmt.Errorf("opening log storage: %w", err)
	}
	return driver, newAntispam(store, cfg.followEvery), cp, nil
}

// ownKey returns the log's key, making one only for a tree without a
// checkpoint. A checkpoint must verify under the key and origin: signing
// another log's tree (or this tree under a new key or origin) would give
// one history two identities, and the old one's clients would see
// checkpoints they cannot verify.
func ownKey(ctx context.Context, path, origin string, lastCP []byte) (ed25519.PrivateKey, error) {
	if lastCP == nil {
		return loadOrCreateKey(path)
	}
	priv, err := tlog.LoadKey(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("%w: the log's key %s does not exist; restore the log's key from a backup (or copy it from another front-end) rather than starting with a new one", ErrNotThisLog, path)
	}
	if err != nil {
		return nil, err
	}
	nv, err := checkpointVerifier(origin, priv.Public().(ed25519.PublicKey))
	if err != nil {
		return nil, err
	}
	if _, _, _, err := log.ParseCheckpoint(lastCP, origin, nv); err != nil {
		found, _, _ := strings.Cut(string(lastCP), "\n")
		return nil, fmt.Errorf("%w: its checkpoint (origin %q) does not verify with the key in %s for origin %q; start with the key and origin (--origin, or the host of --url) the log was created with: %w", ErrNotThisLog, found, path, origin, err)
	}
	return priv, nil
}

// defaultAlgorithms are the signature algorithms the log accepts, Rekor v2's defaults.
var defaultAlgorithms = []protocommon.PublicKeyDetails{
	protocommon.PublicKeyDetails_PKIX_ECDSA_P256_SHA_256,
	protocommon.PublicKeyDetails_PKIX_ECDSA_P384_SHA_384,
	protocommon.PublicKeyDetails_PKIX_ECDSA_P521_SHA_512,
	protocommon.PublicKeyDetails_PKIX_ED25519,
	protocommon.PublicKeyDetails_PKIX_ED25519_PH,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_2048_SHA256,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_3072_SHA256,
	protocommon.PublicKeyDetails_PKIX_RSA_PKCS1V15_4096_SHA256,
}

// Close refuses new appends, lets those already taken reach the tree and a
// checkpoint, and stops the log.
func (l *Log) Close(ctx context.Context) error {
	l.mu.Lock()
	l.closed = true
	l.mu.Unlock()
	l.inflight.Wait()
	err := l.shutdown(ctx)
	l.cancel()
	return errors.Join(err, l.dedup.close())
}

// Origin returns the log's checkpoint origin.
func (l *Log) Origin() string { return l.origin }

// PublicKey returns the key that signs the log's checkpoints.
func (l *Log) PublicKey() crypto.PublicKey { return l.pub }

// LogID returns the log's ID as Rekor v2 and Sigstore trusted roots compute it.
func (l *Log) LogID() []byte { return l.logID }

// ReadTile reads one of the log's tiles; it is a client.TileFetcherFunc.
func (l *Log) ReadTile(ctx context.Context, level, index uint64, p uint8) ([]byte, error) {
	return l.reader.ReadTile(ctx, level, index, p)
}

// Checkpoint returns the latest signed checkpoint.
func (l *Log) Checkpoint(ctx context.Context) ([]byte, error) { return l.reader.ReadCheckpoint(ctx) }

// Add validates a Rekor v2 entry request (the signature must verify), appends
// it, waits until a checkpoint commits to it, and returns the transparency
// log entry with its inclusion proof, as Rekor v2 does. Submitting the same
// entry again returns the entry already in the log.
func (l *Log) Add(ctx context.Context, req *pb.CreateEntryRequest) (*rekorpb.TransparencyLogEntry, error) {
	hr := req.GetHashedRekordRequestV002()
	if hr == nil {
		return nil, fmt.Errorf("%w: only hashedrekord v0.0.2 entries are accepted", ErrInvalidEntry)
	}
	entry, err := hashedrekord.ToLogEntry(hr, l.algs)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidEntry, err)
	}
	raw, err := protojson.Marshal(entry)
	if err != nil {
		return nil, fmt.Errorf("encoding entry: %w", err)
	}
	body, err := jsoncanonicalizer.Transform(raw)
	if err != nil {
		return nil, fmt.Errorf("canonicalizing entry: %w", err)
	}
	if len(body) > tessera.DefaultEntrySizeLimit {
		return nil, fmt.Errorf("%w: the entry is %d bytes, over the %d a log entry can hold (C2SP tlog-tiles); sign with a smaller certificate", ErrInvalidEntry, len(body), tessera.DefaultEntrySizeLimit)
	}
	te := tessera.NewEntry(body)
	idx, cpRaw, err := l.append(ctx, te)
	if err != nil {
		return nil, fmt.Errorf("appending entry: %w", err)
	}
	ip, err := l.inclusionProof(ctx, idx.Index, cpRaw, te.LeafHash())
	if err != nil {
		return nil, err
	}
	return &rekorpb.TransparencyLogEntry{
		LogIndex:          int64(idx.Index),
		LogId:             &protocommon.LogId{KeyId: l.logID},
		KindVersion:       &rekorpb.KindVersion{Kind: entry.Kind, Version: entry.ApiVersion},
		InclusionProof:    ip,
		CanonicalizedBody: body,
	}, nil
}

// append adds te and waits for a checkpoint that commits to it.
func (l *Log) append(ctx context.Context, te *tessera.Entry) (tessera.Index, []byte, error) {
	l.mu.RLock()
	if l.closed {
		l.mu.RUnlock()
		return tessera.Index{}, nil, ErrClosed
	}
	l.inflight.Add(1)
	l.mu.RUnlock()
	idx, err := l.appender.Add(ctx, te)()
	l.inflight.Done()
	if err != nil {
		return idx, nil, err
	}
	resolved := func() (tessera.Index, error) { return idx, nil }
	return l.awaiter.Await(ctx, resolved)
}

// inclusionProof builds and checks the proof of index against the checkpoint.
func (l *Log) inclusionProof(ctx context.Context, index uint64, cpRaw, leafHash []byte) (*rekorpb.InclusionProof, error) {
	cp, err := l.ownCheckpoint(cpRaw)
	if err != nil {
		return nil, err
	}
	hashes, err := l.prover.inclusionProof(ctx, cp.Size, index, l.reader.ReadTile)
	if err != nil {
		return nil, fmt.Errorf("building inclusion proof for %d: %w", index, err)
	}
	if err := proof.VerifyInclusion(rfc6962.DefaultHasher, index, cp.Size, leafHash, hashes, cp.Hash); err != nil {
		return nil, fmt.Errorf("log produced an inclusion proof that does not verify: %w", err)
	}
	return &rekorpb.InclusionProof{
		LogIndex:   int64(index),
		RootHash:   cp.Hash,
		TreeSize:   int64(cp.Size),
		Hashes:     hashes,
		Checkpoint: &rekorpb.Checkpoint{Envelope: string(cpRaw)},
	}, nil
}

// checkpointVerifier checks checkpoints signed by pub for origin.
func checkpointVerifier(origin string, pub ed25519.PublicKey) (note.Verifier, error) {
	v, err := signature.LoadED25519Verifier(pub)
	if err != nil {
		return nil, err
	}
	nv, err := rnote.NewNoteVerifier(origin, v)
	if err != nil {
		return nil, fmt.Errorf("making checkpoint verifier: %w", err)
	}
	return nv, nil
}

// verifiedCheckpoint is a checkpoint whose signature was checked.
type verifiedCheckpoint struct {
	raw []byte
	cp  log.Checkpoint
}

// ownCheckpoint parses a checkpoint read from storage, which must be signed
// by this log's key for its origin: the log never answers with, or serves,
// one it did not sign (an edited checkpoint, or a front-end with another
// key on the same database). The last one verified is remembered, so each
// checkpoint's signature is checked once, not once per append.
func (l *Log) ownCheckpoint(raw []byte) (*log.Checkpoint, error) {
	if last := l.lastCP.Load(); last != nil && bytes.Equal(last.raw, raw) {
		cp := last.cp
		return &cp, nil
	}
	cp, _, _, err := log.ParseCheckpoint(raw, l.origin, l.cpVerifier)
	if err != nil {
		return nil, fmt.Errorf("the log's storage holds a checkpoint this log's key did not sign for %q (edited, or written by a front-end with another key): %w", l.origin, err)
	}
	l.lastCP.Store(&verifiedCheckpoint{raw: bytes.Clone(raw), cp: *cp})
	return cp, nil
}

// loadOrCreateKey reads the log's Ed25519 key, or makes one (0600).
func loadOrCreateKey(path string) (ed25519.PrivateKey, error) {
	priv, err := tlog.LoadKey(path)
	if !errors.Is(err, os.ErrNotExist) {
		return priv, err
	}
	_, priv, err = ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, err
	}
	// Written whole and exclusively: a key half written by a crash, or
	// through a symlink planted at path, is never left behind.
	if err := atomicfile.Create(path, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Not readable as a file a moment ago: a link to nothing, or a
			// key another front-end made just now.
			return nil, fmt.Errorf("creating the log's key: %s exists but could not be read (a symbolic link to nothing?); "+
				"remove it unless it is this log's key, then start the log again: %w", path, err)
		}
		return nil, fmt.Errorf("creating the log's key: %w", err)
	}
	return priv, nil
}
