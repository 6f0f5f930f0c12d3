package fleet

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/signet-dev/signet/oci"
)

// Kinds of the workloads registry sources make.
const (
	// KindRepository is a registry repository: every tag in it.
	KindRepository = "Repository"
	// KindImage is an image given by reference.
	KindImage = "Image"
)

func isClusterKind(kind string) bool { return kind != KindRepository && kind != KindImage }

// TagLister lists a repository's tags; *oci.Client is one.
type TagLister interface {
	// Tags lists every tag of repo, all pages, refusing more than max.
	Tags(ctx context.Context, repo string, max int) ([]string, error)
}

// Repositories makes one workload per repository: every tag in it, as
// REPO:TAG. A repository whose tags cannot be listed is a workload with a
// Problem (reported as could not check, never skipped). Tags that name
// attached artifacts (sha256-<hex>, with .sig, .att or .sbom) are left out
// and counted in skipped.
func Repositories(ctx context.Context, l TagLister, repos []string, maxTags int) (ws []Workload, skipped int) {
	for _, repo := range slices.Compact(slices.Sorted(slices.Values(repos))) {
		w := Workload{Kind: KindRepository, Name: repo, Images: []Image{}}
		tags, err := l.Tags(ctx, repo, maxTags)
		if err != nil {
			w.Problem = fmt.Sprintf("listing the tags of %s: %s", repo, strings.TrimPrefix(err.Error(), "listing the tags of "+repo+": "))
		}
		slices.Sort(tags)
		for _, tag := range slices.Compact(tags) {
			if oci.AttachedTag(tag) {
				skipped++
				continue
			}
			w.Images = append(w.Images, Image{Ref: repo + ":" + tag})
		}
		ws = append(ws, w)
	}
	return ws, skipped
}

// Images makes one workload per image reference given.
func Images(refs []string) []Workload {
	var ws []Workload
	for _, ref := range slices.Compact(slices.Sorted(slices.Values(refs))) {
		ws = append(ws, Workload{Kind: KindImage, Images: []Image{{Ref: ref}}})
	}
	return ws
}
