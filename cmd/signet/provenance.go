package main

import (
	"fmt"
	"os"
	"strings"

	"github.com/spf13/cobra"

	"github.com/signet-dev/signet/provenance"
)

func newProvenanceCmd(s *streams) *cobra.Command {
	cmd := &cobra.Command{Use: "provenance", Short: "Generate SLSA provenance"}
	var o provenance.Options
	var params, materials []string
	gen := &cobra.Command{
		Use:   "generate",
		Short: "Write a SLSA provenance v1 predicate for this build to stdout",
		Long: `Write a SLSA provenance v1 predicate from the CI environment — GitHub Actions
(workflow ref, repository, commit, runner, run id/attempt) or GitLab CI —
and the flags, which override it. Claims the environment cannot back are
left out, never invented. Attach it with
'signet attest --type slsaprovenance1 --predicate FILE IMAGE'.`,
		Example: `  signet provenance generate > provenance.json
  signet provenance generate --builder-id https://ci.example.com/builders/1 \
      --source-uri git+https://example.com/app@refs/heads/main --source-digest gitCommit:$SHA --param target=release`,
		Args: args(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			var err error
			if o.Params, err = parseAnnotations(params); err != nil {
				return err
			}
			for _, m := range materials {
				uri, digest, _ := strings.Cut(m, "@sha256:")
				mat := provenance.Material{URI: uri}
				if digest != "" {
					mat.Digest = map[string]string{"sha256": digest}
				}
				o.Materials = append(o.Materials, mat)
			}
			p, source, err := provenance.Generate(os.LookupEnv, o)
			if err != nil {
				return usageError{err}
			}
			b, err := p.JSON()
			if err != nil {
				return err
			}
			fmt.Fprintf(s.err, "Provenance from %s\n", source)
			_, err = fmt.Fprintln(s.out, string(b))
			return err
		},
	}
	gen.Flags().StringVar(&o.BuilderID, "builder-id", "", "builder identity (required outside GitHub Actions / GitLab CI)")
	gen.Flags().StringVar(&o.BuildType, "build-type", "", "build type URI")
	gen.Flags().StringVar(&o.SourceURI, "source-uri", "", "source repository URI, e.g. git+https://example.com/app@refs/heads/main")
	gen.Flags().StringVar(&o.SourceDigest, "source-digest", "", "source digest as alg:hex, e.g. gitCommit:0123...")
	gen.Flags().StringArrayVar(&params, "param", nil, "external parameter key=value (repeatable)")
	gen.Flags().StringArrayVar(&materials, "material", nil, "resolved dependency URI[@sha256:hex] (repeatable)")
	cmd.AddCommand(gen)
	return cmd
}
