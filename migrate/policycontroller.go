package migrate

import (
	"fmt"
	"reflect"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/signet-dev/signet/attest"
	"github.com/signet-dev/signet/policy"
)

// The ClusterImagePolicy fields the importer reads (v1alpha1 and v1beta1
// share them).

type pcPolicy struct {
	APIVersion string  `yaml:"apiVersion"`
	Kind       string  `yaml:"kind"`
	Metadata   objMeta `yaml:"metadata"`
	Spec       pcSpec  `yaml:"spec"`
}

type pcSpec struct {
	Images      []pcImage     `yaml:"images"`
	Authorities []pcAuthority `yaml:"authorities"`
	Policy      *pcPolicyRef  `yaml:"policy"`
	Mode        string        `yaml:"mode"`
	Match       yaml.Node     `yaml:"match"`
}

type pcImage struct {
	Glob  string `yaml:"glob"`
	Regex string `yaml:"regex"`
}

type pcAuthority struct {
	Name             string          `yaml:"name"`
	Key              *pcKey          `yaml:"key"`
	Keyless          *pcKeyless      `yaml:"keyless"`
	Static           *pcStatic       `yaml:"static"`
	Source           yaml.Node       `yaml:"source"`
	CTLog            *pcTlog         `yaml:"ctlog"`
	RFC3161Timestamp *pcTSA          `yaml:"rfc3161timestamp"`
	Attestations     []pcAttestation `yaml:"attestations"`
	SignatureFormat  string          `yaml:"signatureFormat"`
}

type pcKey struct {
	Data          string       `yaml:"data"`
	KMS           string       `yaml:"kms"`
	SecretRef     *pcSecretRef `yaml:"secretRef"`
	HashAlgorithm string       `yaml:"hashAlgorithm"`
}

type pcSecretRef struct {
	Name string `yaml:"name"`
	// Namespace, when set, must be policy-controller's own.
	Namespace string `yaml:"namespace"`
}

type pcKeyless struct {
	URL               string       `yaml:"url"`
	Identities        []pcIdentity `yaml:"identities"`
	CACert            yaml.Node    `yaml:"ca-cert"`
	TrustRootRef      string       `yaml:"trustRootRef"`
	InsecureIgnoreSCT *bool        `yaml:"insecureIgnoreSCT"`
}

type pcIdentity struct {
	Issuer        string `yaml:"issuer"`
	Subject       string `yaml:"subject"`
	IssuerRegExp  string `yaml:"issuerRegExp"`
	SubjectRegExp string `yaml:"subjectRegExp"`
}

type pcStatic struct {
	Action  string `yaml:"action"`
	Message string `yaml:"message"`
}

type pcTlog struct {
	URL          string `yaml:"url"`
	TrustRootRef string `yaml:"trustRootRef"`
}

type pcTSA struct {
	TrustRootRef string `yaml:"trustRootRef"`
}

type pcAttestation struct {
	Name          string       `yaml:"name"`
	PredicateType string       `yaml:"predicateType"`
	Policy        *pcPolicyRef `yaml:"policy"`
}

type pcPolicyRef struct {
	Type              string    `yaml:"type"`
	Data              string    `yaml:"data"`
	Remote            yaml.Node `yaml:"remote"`
	ConfigMapRef      yaml.Node `yaml:"configMapRef"`
	FetchConfigFile   *bool     `yaml:"fetchConfigFile"`
	IncludeSpec       *bool     `yaml:"includeSpec"`
	IncludeObjectMeta *bool     `yaml:"includeObjectMeta"`
	IncludeTypeMeta   *bool     `yaml:"includeTypeMeta"`
}

// text is the policy as written, or where it is kept.
func (p *pcPolicyRef) text() string {
	switch {
	case p.Data != "":
		return strings.TrimRight(p.Data, "\n")
	case p.Remote.Kind != 0:
		return "remote: " + oneLine(&p.Remote)
	case p.ConfigMapRef.Kind != 0:
		return "configMapRef: " + oneLine(&p.ConfigMapRef)
	}
	return "(empty)"
}

// policyController translates a ClusterImagePolicy. Every policy that
// matches an image must pass, and within one the image needs one passing
// authority (any of them): a signature from one of its keys or
// identities, or, for an authority with attestations, those attestations
// (and then not the signature).
func (im *importer) policyController(sc scope, n *yaml.Node) {
	var p pcPolicy
	if err := n.Decode(&p); err != nil {
		sc.untranslated("", "", "", "the policy could not be read (%s), so it is not imported; fix it (policy-controller would refuse it too) and import it again", decodeError(err))
		return
	}
	req := &requirement{origin: describe(sc.where), sc: sc, mode: "enforce"}
	switch strings.ToLower(p.Spec.Mode) {
	case "", "enforce":
	case "warn":
		req.mode = "warn"
	default:
		sc.untranslated("spec.mode", p.Spec.Mode, "", "mode %q is neither enforce nor warn, so policy-controller refuses the policy; it is not imported", p.Spec.Mode)
		return
	}
	if problems := pcValidate(p.Spec); len(problems) > 0 {
		sc.untranslated("spec", "", "", "policy-controller refuses this policy (%s), so it never applied, and it is not imported (a rule from it could admit images that policy-controller denies for want of a matching policy); fix it and import it again", strings.Join(problems, "; "))
		return
	}
	for _, u := range unknownFields(n, reflect.TypeOf(pcPolicy{})) {
		if strings.HasPrefix(u, "spec.") {
			sc.untranslated(u, "", "", "the field %s is not one the importer knows, and may restrict which images are admitted; the rule refuses every image it applies to until you check it and finish the rule by hand", u)
			req.refuse("unknown field " + u)
		} else {
			sc.note(u, "the field %s is not one the importer knows; it is ignored", u)
		}
	}
	if p.Spec.Match.Kind != 0 {
		sc.stricter("spec.match", "the policy applies only to some resources (%s); Signet checks the images of every pod and workload controller", oneLine(&p.Spec.Match))
	}
	var patterns []pattern
	for i, img := range p.Spec.Images {
		field := fmt.Sprintf("spec.images[%d]", i)
		if img.Regex != "" {
			// Left out, the images it matches would meet only the other
			// policies' requirements: they go into every rule until a
			// person writes the pattern (no rule of its own: an image no
			// other policy matches stays denied, as policy-controller
			// denies what no policy matches).
			sc.untranslated(field+".regex", img.Regex, "", "a regular expression over image names cannot be written as a Signet pattern; until you write the pattern by hand, this policy's requirements go into every rule (it makes no rule of its own)")
			patterns = append(patterns, everyRule)
			continue
		}
		patterns = append(patterns, pcPattern(sc, field+".glob", img.Glob)...)
	}
	pc := pcTranslator{sc: sc, req: req}
	pc.authorities(p.Spec.Authorities)
	if p.Spec.Policy != nil {
		text := p.Spec.Policy.text()
		sc.untranslated("spec.policy", text, "", "the policy-level %s policy is not translated (Signet has no %s); left out, the rule would be MORE permissive than the original, so it refuses every image it applies to — write what it checks as attestation conditions (CEL) and remove the placeholder", orText(p.Spec.Policy.Type, "CUE/Rego"), orText(p.Spec.Policy.Type, "CUE or Rego"))
		req.refuse("spec.policy (" + orText(p.Spec.Policy.Type, "?") + ") not translated:\n" + text)
	}
	if len(p.Spec.Images) == 0 {
		sc.note("spec.images", "the policy names no images, so it applied to none; it is left out")
		return
	}
	im.add(patterns, req)
}

// pcTranslator translates a policy's authorities into one requirement.
type pcTranslator struct {
	sc  scope
	req *requirement
}

// pcAuth is one translated authority: the signers it accepts and the
// attestations it asks for instead of a signature.
type pcAuth struct {
	name         string
	signers      []signer
	ids          []string
	attestations []attestation
	incomplete   bool     // a part could not be translated
	refusals     []string // placeholders it needs, if it stays
	tlog         string
}

// authorities writes "any one authority" as Signet can: with no
// attestations, a threshold of one over every authority's signers
// (exact); otherwise that threshold and every authority's attestations
// (stricter: an image must satisfy all authorities' attestations).
func (pc *pcTranslator) authorities(as []pcAuthority) {
	name := func(i int) string {
		if as[i].Name != "" {
			return as[i].Name
		}
		return fmt.Sprintf("authority-%d", i)
	}
	for i, a := range as {
		if a.Static != nil && a.Static.Action == "pass" {
			pc.sc.rule(name(i)).note(fmt.Sprintf("spec.authorities[%d].static", i), "static pass: every image the policy matches passes it; the rule asks for nothing (other authorities do not matter)")
			pc.req.tlog = "optional"
			return
		}
	}
	var live []pcAuth
	static := 0
	for i, a := range as {
		sc := pc.sc.rule(name(i))
		field := fmt.Sprintf("spec.authorities[%d]", i)
		if a.Static != nil {
			sc.note(field+".static", "static %s: this authority never passes", a.Static.Action)
			static++
			continue
		}
		if au, ok := pc.authority(sc, field, name(i), a); ok {
			live = append(live, au)
		}
	}
	if len(live) == 0 && static < len(as) {
		pc.sc.untranslated("spec.authorities", "", "", "none of the authorities could be translated (see the findings about each), so the rule refuses every image it applies to until you finish it")
		pc.req.refuse("none of the authorities could be translated")
		pc.req.tlog = "optional"
		return
	}
	pc.combine(live)
}

// combine writes the authorities that could be translated.
func (pc *pcTranslator) combine(live []pcAuth) {
	if len(live) > 1 {
		var complete []pcAuth
		for _, a := range live {
			if !a.incomplete {
				complete = append(complete, a)
			}
		}
		if len(complete) > 0 && len(complete) < len(live) {
			pc.sc.stricter("spec.authorities", "authorities with untranslated parts are left out of this rule (any one authority passes in policy-controller, so fewer authorities only refuse more); what remains: %s", authNames(complete))
			live = complete
		}
	}
	switch {
	case len(live) == 0:
		pc.sc.note("spec.authorities", "every authority is static fail, so policy-controller refuses every image the policy matches; so does the rule")
		pc.req.refuse("no authority can pass (static fail), so policy-controller refuses every image the policy matches")
		pc.req.tlog = "optional"
		return
	case len(live) == 1 && len(live[0].attestations) > 0:
		// Attestations only: render adds the signature Signet requires.
	default:
		var ids []string
		for _, a := range live {
			ids = append(ids, a.ids...)
		}
		pc.req.clauses = append(pc.req.clauses, clause{n: 1, ids: ids})
	}
	withAtt := 0
	for _, a := range live {
		for _, s := range a.signers {
			pc.req.addSigner(s)
		}
		pc.req.attestations = append(pc.req.attestations, a.attestations...)
		pc.req.refusals = append(pc.req.refusals, a.refusals...)
		if len(a.attestations) > 0 {
			withAtt++
		}
		if pc.req.tlog != "" && pc.req.tlog != a.tlog {
			pc.sc.stricter("spec.authorities", "the authorities differ on the transparency log; Signet has one setting per rule, the strictest")
		}
		pc.req.tlog = stricterOf(tlogOrder, pc.req.tlog, a.tlog)
	}
	if withAtt > 0 && len(live) > 1 {
		pc.sc.stricter("spec.authorities", "policy-controller admits an image that satisfies any one authority (%s); Signet requires one signature from any of them and every authority's attestations", authNames(live))
	}
}

func authNames(as []pcAuth) string {
	var names []string
	for _, a := range as {
		names = append(names, a.name)
	}
	return strings.Join(names, ", ")
}

// authority translates a key or keyless authority and its attestations.
func (pc *pcTranslator) authority(sc scope, field, name string, a pcAuthority) (pcAuth, bool) {
	au := pcAuth{name: name}
	var ss []signer
	switch {
	case a.Key != nil:
		ss = pc.key(sc, field+".key", name, a.Key)
		au.tlog = "skip"
		if a.CTLog != nil {
			au.tlog = "required"
		}
	case a.Keyless != nil:
		ss, au.refusals = pc.keyless(sc, field+".keyless", name, a.Keyless)
		au.incomplete = len(au.refusals) > 0
		au.tlog = "required"
	default:
		return au, false // pcValidate refuses such an authority
	}
	if len(ss) == 0 {
		return au, false
	}
	for _, s := range ss {
		au.signers = append(au.signers, s)
		au.ids = append(au.ids, s.id)
	}
	if a.CTLog != nil && (a.CTLog.TrustRootRef != "" || a.CTLog.URL != "" && strings.TrimSuffix(a.CTLog.URL, "/") != publicRekor) {
		sc.note(field+".ctlog", "Signet checks log entries against the transparency logs of its trusted root (signet trust), not a log named in the policy: add this log (%s) to it", orText(a.CTLog.URL, "TrustRoot "+a.CTLog.TrustRootRef))
	}
	if a.RFC3161Timestamp != nil {
		au.tlog = "skip"
		sc.note(field+".rfc3161timestamp", "with an RFC 3161 timestamp authority policy-controller skips the transparency log, as the rule does; Signet checks timestamps against the timestamp authorities of its trusted root: add those of TrustRoot %s there", a.RFC3161Timestamp.TrustRootRef)
	}
	if a.Source.Kind != 0 {
		sc.stricter(field+".source", "signatures were read from %s; Signet reads them from the image's own repository, so images whose signatures are only there are refused", oneLine(&a.Source))
	}
	for j, at := range a.Attestations {
		if t, ok := pc.attestation(sc, fmt.Sprintf("%s.attestations[%d]", field, j), at, au.ids); ok {
			au.attestations = append(au.attestations, t)
			au.incomplete = au.incomplete || t.condition == "false"
		} else {
			au.incomplete = true
		}
	}
	return au, true
}

// key translates a key authority: each PEM key of data (any of them), a
// KMS key, or a Secret in the webhook's namespace.
func (pc *pcTranslator) key(sc scope, field, name string, k *pcKey) []signer {
	if k.HashAlgorithm != "" && !strings.EqualFold(k.HashAlgorithm, "sha256") {
		sc.stricter(field+".hashAlgorithm", "Signet verifies signatures over SHA-256 (as cosign signs by default); signatures made with %s are refused", k.HashAlgorithm)
	}
	switch {
	case k.Data != "":
		ss, err := pemSigners(name, k.Data)
		if err != nil {
			sc.untranslated(field+".data", "", "", "the key cannot be read (%v); the authority is left out", err)
			return nil
		}
		return ss
	case k.KMS != "":
		s, err := refSigner(name, k.KMS)
		if err != nil {
			sc.stricter(field+".kms", "authority not translated: %v", err)
			return nil
		}
		return []signer{s}
	case k.SecretRef != nil:
		sc.note(field+".secretRef", "the key is read from the Secret %s in the webhook's own namespace (policy-controller read it from its namespace), from its data key cosign.pub (policy-controller took the Secret's first value)", k.SecretRef.Name)
		return []signer{{id: "ref:k8s://" + k.SecretRef.Name, hint: name, s: policy.Signer{Key: "k8s://" + k.SecretRef.Name}}}
	}
	return nil // pcValidate refuses a key authority without a key
}

// keyless translates a keyless authority's identities (any of them); with
// none, any identity from a trusted certificate authority passes.
func (pc *pcTranslator) keyless(sc scope, field, name string, k *pcKeyless) ([]signer, []string) {
	var refusals []string
	if k.CACert.Kind != 0 || k.TrustRootRef != "" {
		what := "TrustRoot " + k.TrustRootRef
		if k.CACert.Kind != 0 {
			what = "ca-cert " + oneLine(&k.CACert)
		}
		sc.untranslated(field, what, "", "the authority trusts its own certificate authority (%s); Signet checks keyless certificates against the certificate authorities of its trusted root, which may issue the same identities — the rule refuses every image it applies to until you add this CA to Signet's trusted root (signet trust) and remove the placeholder", what)
		refusals = append(refusals, "keyless authority "+name+" trusts "+what+": add it to Signet's trusted root, then remove this placeholder")
	}
	if k.InsecureIgnoreSCT != nil && *k.InsecureIgnoreSCT {
		sc.stricter(field+".insecureIgnoreSCT", "Signet checks a keyless certificate's signed certificate timestamp whenever its trusted root lists CT logs; certificates without one are refused")
	}
	var out []signer
	for i, id := range k.Identities {
		hint := name
		if len(k.Identities) > 1 {
			hint = fmt.Sprintf("%s-%d", name, i+1)
		}
		// pcValidate has made sure each has one issuer and one subject.
		kl := policy.Keyless{Issuer: id.Issuer, IssuerRegExp: id.IssuerRegExp, Subject: id.Subject, SubjectRegExp: id.SubjectRegExp}
		out = append(out, keylessSigner(hint, kl))
	}
	return out, refusals
}

// attestation translates an attestation of an authority; its policy (CUE
// or Rego) is a placeholder.
func (pc *pcTranslator) attestation(sc scope, field string, at pcAttestation, ids []string) (attestation, bool) {
	if _, _, err := attest.ResolveType(at.PredicateType); err != nil {
		sc.untranslated(field+".predicateType", at.PredicateType, "", "the predicate type %q is neither a cosign name nor a URI: %v", at.PredicateType, err)
		return attestation{}, false
	}
	a := attestation{name: orText(at.Name, at.PredicateType), predicateType: at.PredicateType, signers: ids}
	if at.Policy != nil {
		text := at.Policy.text()
		typ := orText(at.Policy.Type, "CUE/Rego")
		sc.untranslated(field+".policy", text, "", "the %s policy is not translated (Signet conditions are CEL); left out, the rule would be MORE permissive than the original, so the attestation is imported with condition \"false\", which refuses every image the rule applies to — write the check as a CEL condition in its place", typ)
		a.condition = "false"
		a.comment = "UNTRANSLATED policy-controller " + typ + " policy; \"false\" refuses every image until you write it in CEL:\n" + text
	}
	return a, true
}
