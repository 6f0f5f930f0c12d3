package gate

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/signet-dev/signet/internal/lazyre"
)

// Event is one event of a distribution registry notification (the fields
// the gate reads).
type Event struct {
	ID        string    `json:"id"`
	Timestamp time.Time `json:"timestamp"`
	Action    string    `json:"action"`
	Target    struct {
		MediaType  string `json:"mediaType"`
		Digest     string `json:"digest"`
		Size       int64  `json:"size"`
		Repository string `json:"repository"`
		URL        string `json:"url"`
		Tag        string `json:"tag"`
	} `json:"target"`
}

// maxEvents bounds the events of one envelope.
const maxEvents = 1000

// ParseEnvelope reads a notification body: {"events": [...]}.
func ParseEnvelope(body []byte) ([]Event, error) {
	var env struct {
		Events []Event `json:"events"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("not a registry notification: %w", err)
	}
	if env.Events == nil {
		return nil, errors.New("not a registry notification: no events")
	}
	if len(env.Events) > maxEvents {
		return nil, fmt.Errorf("%d events in one notification, more than %d", len(env.Events), maxEvents)
	}
	return env.Events, nil
}

// manifestTypes are the media types of pushed manifests the gate looks at:
// every manifest a runtime could pull, Docker's old schema 1 included (a
// registry that still accepts it must not have it pass unjudged).
var manifestTypes = map[string]bool{
	"application/vnd.oci.image.manifest.v1+json":                true,
	"application/vnd.oci.image.index.v1+json":                   true,
	"application/vnd.docker.distribution.manifest.v2+json":      true,
	"application/vnd.docker.distribution.manifest.list.v2+json": true,
	"application/vnd.docker.distribution.manifest.v1+json":      true,
	"application/vnd.docker.distribution.manifest.v1+prettyjws": true,
}

var digestRe = lazyre.New(`^sha256:[0-9a-f]{64}$`)

// job turns a push of a manifest into a job; nil for events the gate does
// not act on (pulls, blobs, deletes), with a reason when the event was
// malformed.
func (e Event) job(now time.Time) (*job, string) {
	if e.Action != "push" || !manifestTypes[e.Target.MediaType] {
		return nil, ""
	}
	if !digestRe.MatchString(e.Target.Digest) {
		return nil, fmt.Sprintf("digest %q is not sha256:<64 hex>", e.Target.Digest)
	}
	if why := repositoryProblem(e.Target.Repository); why != "" {
		return nil, fmt.Sprintf("repository %q is not a repository name: %s", e.Target.Repository, why)
	}
	id := e.ID
	if id == "" {
		sum := sha256.Sum256([]byte(e.Target.Repository + "@" + e.Target.Digest + ":" + e.Target.Tag + "/" + e.Timestamp.String()))
		id = "derived-" + hex.EncodeToString(sum[:16])
	}
	return &job{ID: id, Repository: e.Target.Repository, Digest: e.Target.Digest, Tag: e.Target.Tag, MediaType: e.Target.MediaType, Received: now}, ""
}

// pathComponent is one segment of a repository name in the distribution
// spec's grammar: lower-case letters and digits, separated by ".", "_",
// "__" or dashes. It has no room for "", "." or "..".
var pathComponent = lazyre.New(`^[a-z0-9]+(?:(?:\.|_|__|-+)[a-z0-9]+)*$`)

// maxRepository is the longest repository name the distribution spec allows.
const maxRepository = 255

// repositoryProblem says what is wrong with s as a repository name, or ""
// when nothing is. The gate builds references from it, so a name a
// registry would not accept (an empty, "." or ".." segment) is refused
// rather than passed on.
func repositoryProblem(s string) string {
	if s == "" {
		return "it is empty"
	}
	if len(s) > maxRepository {
		return fmt.Sprintf("%d characters, more than %d", len(s), maxRepository)
	}
	for _, c := range strings.Split(s, "/") {
		if !pathComponent.MatchString(c) {
			return fmt.Sprintf("segment %q is not lower-case letters and digits separated by \".\", \"_\", \"__\" or \"-\"", c)
		}
	}
	return ""
}

// validRepository says whether s names a repository.
func validRepository(s string) bool { return repositoryProblem(s) == "" }
