// Package trustbundle makes, stores and reads trust bundles: one versioned
// OCI artifact holding everything a verifier needs — a Sigstore trusted
// root (CAs, logs, TSAs), a signing config, policies, public keys and a
// recall list — so that a verifier can work from it alone, with no other
// network access than the registry that holds it.
//
// A bundle is an OCI image manifest of ArtifactType whose layers are its
// files, each with its own media type and a title annotation naming it,
// plus one layer, contents.json (ContentsType), listing every file with
// its role, media type, digest and size, and the bundle's version, which
// only ever grows. The same files written to a directory make a pulled
// bundle. Signing (rollback and freeze protection) is in sign.go: the
// bundle's manifest digest and version are a target of the repository's
// TUF metadata (package taghead).
package trustbundle

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/signet-dev/signet/internal/lazyre"
)

// Media types of a trust bundle.
const (
	// ArtifactType is the bundle manifest's artifactType.
	ArtifactType = "application/vnd.signet.trust-bundle.v1"
	// ContentsType is the contents.json layer.
	ContentsType = "application/vnd.signet.trust-bundle.contents.v1+json"
	// TrustedRootType is Sigstore's trusted_root.json.
	TrustedRootType = "application/vnd.dev.sigstore.trustedroot.v0.1+json"
	// SigningConfigType is Sigstore's signing_config.json.
	SigningConfigType = "application/vnd.dev.sigstore.signingconfig.v0.2+json"
	// PolicyType is a signet policy (YAML or JSON).
	PolicyType = "application/vnd.signet.policy.v1+yaml"
	// KeyType is a PEM public key.
	KeyType = "application/x-pem-file"
	// RecallsType is a signet recall list (docs/policy.md), as written.
	RecallsType = "application/vnd.signet.recalls.v1+yaml"
)

// ContentsFile is the name of the contents layer (and file in a directory).
const ContentsFile = "contents.json"

// Role says what a file of the bundle is for.
type Role string

// Roles of the files of a bundle.
const (
	RoleTrustedRoot   Role = "trusted-root"
	RoleSigningConfig Role = "signing-config"
	RolePolicy        Role = "policy"
	RoleKey           Role = "key"
	RoleRecalls       Role = "recalls"
)

// mediaTypes gives each role its media type.
var mediaTypes = map[Role]string{
	RoleTrustedRoot: TrustedRootType, RoleSigningConfig: SigningConfigType, RolePolicy: PolicyType,
	RoleKey: KeyType, RoleRecalls: RecallsType,
}

// single roles may appear at most once in a bundle.
var single = map[Role]bool{RoleTrustedRoot: true, RoleSigningConfig: true, RoleRecalls: true}

// APIVersion and Kind identify contents.json.
const (
	APIVersion = "signet.dev/v1alpha1"
	Kind       = "TrustBundle"
)

// ErrInvalid marks a bundle (or its contents.json) that does not parse or
// does not match its files.
var ErrInvalid = errors.New("invalid trust bundle")

// Contents is contents.json: the bundle's version and its files.
type Contents struct {
	APIVersion string `json:"apiVersion"`
	Kind       string `json:"kind"`
	// Version numbers the bundle (1, 2, ...): a newer bundle has a higher
	// one, and verifiers refuse one older than they have seen.
	Version int64 `json:"version"`
	// Created is when the bundle was made (informational).
	Created time.Time `json:"created,omitzero"`
	// Files lists every file but contents.json, sorted by name.
	Files []Entry `json:"files"`
}

// Entry is one file of the bundle as contents.json lists it.
type Entry struct {
	Name      string `json:"name"`
	Role      Role   `json:"role"`
	MediaType string `json:"mediaType"`
	Digest    string `json:"digest"`
	Size      int64  `json:"size"`
}

// File is one file of the bundle with its data.
type File struct {
	Entry
	Data []byte
}

// Bundle is a trust bundle: contents.json and the files it lists.
type Bundle struct {
	Contents Contents
	Files    []File
}

// maxFiles bounds contents.json: a bundle is a handful of files.
const maxFiles = 1024

var validName = lazyre.New(`^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$`)

var validDigest = lazyre.New(`^sha256:[0-9a-f]{64}$`)

// ParseContents reads contents.json strictly: unknown fields, a version
// below 1, an unknown role or a media type not its role's, a name that is
// not a plain file name (or is contents.json), a name given twice, a digest
// that is not sha256:<64 hex>, a single role (trusted root, signing config,
// recalls) given twice are refused, with the entry named.
func ParseContents(data []byte) (*Contents, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var c Contents
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("%w: reading %s: %w", ErrInvalid, ContentsFile, err)
	}
	if dec.More() {
		return nil, fmt.Errorf("%w: %s has data after its JSON object", ErrInvalid, ContentsFile)
	}
	if err := c.validate(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrInvalid, ContentsFile, err)
	}
	return &c, nil
}

func (c *Contents) validate() error {
	if c.APIVersion != APIVersion || c.Kind != Kind {
		return fmt.Errorf("apiVersion/kind is %q/%q, want %s/%s", c.APIVersion, c.Kind, APIVersion, Kind)
	}
	if c.Version < 1 {
		return fmt.Errorf("version is %d, want 1 or more", c.Version)
	}
	if len(c.Files) > maxFiles {
		return fmt.Errorf("%d files, over the limit of %d", len(c.Files), maxFiles)
	}
	names := map[string]bool{}
	roles := map[Role]bool{}
	for i, e := range c.Files {
		if err := e.validate(); err != nil {
			return fmt.Errorf("file %d: %w", i+1, err)
		}
		// Names equal but for case are one file where a bundle is pulled to
		// a case-insensitive file system (macOS, Windows).
		if names[strings.ToLower(e.Name)] {
			return fmt.Errorf("file %q is listed twice (names differing only in case count as one)", e.Name)
		}
		if single[e.Role] && roles[e.Role] {
			return fmt.Errorf("file %q: a bundle holds one %s, this is the second", e.Name, e.Role)
		}
		names[strings.ToLower(e.Name)], roles[e.Role] = true, true
	}
	return nil
}

func (e Entry) validate() error {
	switch {
	case !validName.MatchString(e.Name) || strings.EqualFold(e.Name, ContentsFile) || path.Base(e.Name) != e.Name:
		return fmt.Errorf("%q is not a plain file name (letters, digits, . _ -; not %s)", e.Name, ContentsFile)
	case mediaTypes[e.Role] == "":
		return fmt.Errorf("%q: unknown role %q (want trusted-root, signing-config, policy, key or recalls)", e.Name, e.Role)
	case e.MediaType != mediaTypes[e.Role]:
		return fmt.Errorf("%q: media type %q, a %s is %s", e.Name, e.MediaType, e.Role, mediaTypes[e.Role])
	case !validDigest.MatchString(e.Digest):
		return fmt.Errorf("%q: digest %q is not sha256:<64 hex>", e.Name, e.Digest)
	case e.Size < 0:
		return fmt.Errorf("%q: negative size", e.Name)
	}
	return nil
}

// Marshal writes contents.json (indented, files sorted by name).
func (c *Contents) Marshal() ([]byte, error) {
	sort.Slice(c.Files, func(i, j int) bool { return c.Files[i].Name < c.Files[j].Name })
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

func digestOf(b []byte) string {
	sum := sha256.Sum256(b)
	return "sha256:" + hex.EncodeToString(sum[:])
}

// Input is one file to put in a new bundle.
type Input struct {
	Name string
	Role Role
	Data []byte
}

// New makes bundle version from inputs, checking each as contents.json
// would be checked.
func New(version int64, created time.Time, inputs []Input) (*Bundle, error) {
	b := &Bundle{Contents: Contents{APIVersion: APIVersion, Kind: Kind, Version: version, Created: created.UTC().Truncate(time.Second)}}
	for _, in := range inputs {
		e := Entry{Name: in.Name, Role: in.Role, MediaType: mediaTypes[in.Role], Digest: digestOf(in.Data), Size: int64(len(in.Data))}
		b.Contents.Files = append(b.Contents.Files, e)
		b.Files = append(b.Files, File{Entry: e, Data: in.Data})
	}
	if err := b.Contents.validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	sort.Slice(b.Files, func(i, j int) bool { return b.Files[i].Name < b.Files[j].Name })
	return b, nil
}

// assemble checks files against contents (every listed file present with
// its digest and size, nothing unlisted) and makes the bundle.
func assemble(c *Contents, read func(Entry) ([]byte, error)) (*Bundle, error) {
	b := &Bundle{Contents: *c}
	for _, e := range c.Files {
		data, err := read(e)
		if err != nil {
			return nil, err
		}
		if got := digestOf(data); got != e.Digest || int64(len(data)) != e.Size {
			return nil, fmt.Errorf("%w: %s is %s (%d bytes), contents.json says %s (%d bytes): the bundle was altered",
				ErrInvalid, e.Name, got, len(data), e.Digest, e.Size)
		}
		b.Files = append(b.Files, File{Entry: e, Data: data})
	}
	return b, nil
}

// File returns the first file of role ("" and false when there is none).
func (b *Bundle) File(role Role) (File, bool) {
	for _, f := range b.Files {
		if f.Role == role {
			return f, true
		}
	}
	return File{}, false
}

// All returns the files of role, by name.
func (b *Bundle) All(role Role) []File {
	var out []File
	for _, f := range b.Files {
		if f.Role == role {
			out = append(out, f)
		}
	}
	return out
}

// ErrPolicyBound means a bundle's keys were to be trusted without the
// policy it carries.
var ErrPolicyBound = errors.New("a policy says which of its keys count for which images, so its keys alone are not trusted")

// KeysAlone says whether the bundle's keys may be trusted on their own, by a
// verification that applies no policy (verify-attestation): not when the
// bundle carries a policy (ErrPolicyBound), which says which keys count
// for which images, where all of its keys at once would trust each of them
// for every image.
func (b *Bundle) KeysAlone() error {
	ps := b.All(RolePolicy)
	if len(ps) == 0 {
		return nil
	}
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.Name
	}
	return fmt.Errorf("carries the policy %s: %w", strings.Join(names, ", "), ErrPolicyBound)
}
