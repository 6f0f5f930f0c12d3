package migrate

import (
	"fmt"
	"reflect"
	"sort"
	"strings"

	"go.yaml.in/yaml/v3"
)

// publicRekor is the log Kyverno and policy-controller use unless told otherwise.
const publicRekor = "https://rekor.sigstore.dev"

// kyverno translates a ClusterPolicy or Policy.
func (im *importer) kyverno(sc scope, n *yaml.Node) {
	im.fromKyverno = true
	var p kyPolicy
	if err := n.Decode(&p); err != nil {
		sc.untranslated("", "", "", "the policy could not be read (%s), so none of its rules is imported; fix it (Kyverno would refuse it too) and import it again", decodeError(err))
		return
	}
	if p.Metadata.Namespace != "" {
		sc.where.Policy = p.Metadata.Namespace + "/" + p.Metadata.Name
	}
	unknown := unknownFields(n, reflect.TypeOf(kyPolicy{}))
	for _, u := range unknown {
		if i := ruleOf(u); i < 0 || i >= len(p.Spec.Rules) || len(p.Spec.Rules[i].VerifyImages) == 0 {
			sc.note(u, "the field %s is not one the importer knows; it is ignored — check it does not restrict which images are admitted", u)
		}
	}
	if p.Kind == "Policy" {
		sc.stricter("", "a Policy applies in its own namespace (%s) only; the Signet rules apply in every namespace", p.Metadata.Namespace)
	}
	if strings.EqualFold(p.Spec.FailurePolicy, "Ignore") || strings.EqualFold(scalar(&p.Spec.WebhookConfiguration, "failurePolicy"), "Ignore") {
		sc.stricter("spec.failurePolicy", "failurePolicy Ignore admitted pods when Kyverno or a registry could not be reached; Signet's webhook fails closed (see its --failure-mode)")
	}
	mode := kyMode(sc, p.Spec)
	verifying := false
	for i, r := range p.Spec.Rules {
		rs := sc.rule(r.Name)
		if len(r.VerifyImages) == 0 {
			rs.note("", "rule %s verifies no images (it is a validate, mutate or generate rule): Signet does not import it; keep it in Kyverno if you still need it", r.Name)
			continue
		}
		verifying = true
		kyRuleScope(rs, r)
		for j, vi := range r.VerifyImages {
			field := fmt.Sprintf("verifyImages[%d]", j)
			// An unknown field of the entry, or of its rule outside any
			// entry, may restrict what the entry admits.
			var bad []string
			for _, u := range unknown {
				rel := strings.TrimPrefix(u, fmt.Sprintf("spec.rules[%d].", i))
				if ruleOf(u) == i && (strings.HasPrefix(rel, field+".") || !strings.HasPrefix(rel, "verifyImages[")) {
					bad = append(bad, rel)
				}
			}
			im.kyvernoImage(rs, field, vi, mode, bad)
		}
	}
	if !verifying {
		sc.note("", "the policy has no verifyImages rule: nothing to import")
	}
}

// ruleOf is the index of the rule a field path is in, or -1.
func ruleOf(path string) int {
	var i int
	var rest string
	if n, _ := fmt.Sscanf(path, "spec.rules[%d]%s", &i, &rest); n < 1 {
		return -1
	}
	return i
}

// kyMode is the failure action: Enforce or Audit (Kyverno's default).
func kyMode(sc scope, spec kySpec) string {
	mode := "audit"
	switch strings.ToLower(spec.ValidationFailureAction) {
	case "enforce":
		mode = "enforce"
	case "audit", "":
	default:
		sc.note("spec.validationFailureAction", "validationFailureAction %q is neither Enforce nor Audit; it is read as Kyverno's default, Audit", spec.ValidationFailureAction)
	}
	for _, o := range spec.ValidationFailureActionOverrides {
		if !strings.EqualFold(o.Action, mode) {
			sc.stricter("spec.validationFailureActionOverrides", "validationFailureActionOverrides sets %s for some namespaces; Signet has one mode per rule, so the rules use enforce everywhere", o.Action)
			mode = "enforce"
		}
	}
	return mode
}

// kyRuleScope reports what narrows a rule to some resources: the Signet
// rules apply to every workload, which is stricter.
func kyRuleScope(sc scope, r kyRule) {
	if r.Match.Kind != 0 && !onlyPodKinds(&r.Match) {
		sc.stricter("match", "the rule matches only some resources (%s); Signet checks the images of every pod and workload controller", oneLine(&r.Match))
	}
	for _, f := range []struct {
		name string
		n    *yaml.Node
	}{{"exclude", &r.Exclude}, {"preconditions", &r.Preconditions}, {"celPreconditions", &r.CELPreconditions}} {
		if f.n.Kind != 0 {
			sc.stricter(f.name, "the rule's %s (%s) is not imported: the Signet rules apply to every workload", f.name, oneLine(f.n))
		}
	}
	if r.ImageExtractors.Kind != 0 {
		sc.untranslated("imageExtractors", oneLine(&r.ImageExtractors), "",
			"imageExtractors verify images named in other resources (custom resources); Signet's webhook checks the images of pods and workload controllers only, so images named elsewhere are not checked at all — keep this rule in Kyverno, or check those images in CI (signet verify)")
	}
}

// onlyPodKinds says whether a match block names only pods and the
// controllers Kyverno's autogen derives from them, and nothing else.
func onlyPodKinds(n *yaml.Node) bool {
	var m struct {
		Any       []struct{ Resources kyResources } `yaml:"any"`
		All       []struct{ Resources kyResources } `yaml:"all"`
		Resources *kyResources                      `yaml:"resources"`
	}
	if err := n.Decode(&m); err != nil {
		return false
	}
	var rs []kyResources
	for _, a := range m.Any {
		rs = append(rs, a.Resources)
	}
	if len(m.All) > 0 {
		return false
	}
	if m.Resources != nil {
		rs = append(rs, *m.Resources)
	}
	pods := map[string]bool{"Pod": true, "Deployment": true, "StatefulSet": true, "DaemonSet": true, "Job": true, "CronJob": true, "ReplicaSet": true, "ReplicationController": true}
	for _, r := range rs {
		if len(r.Rest) > 0 {
			return false
		}
		for _, k := range r.Kinds {
			if !pods[k] {
				return false
			}
		}
	}
	return len(rs) > 0
}

type kyResources struct {
	Kinds []string       `yaml:"kinds"`
	Rest  map[string]any `yaml:",inline"`
}

// kyvernoImage translates one verifyImages entry.
func (im *importer) kyvernoImage(sc scope, field string, vi kyVerify, mode string, unknown []string) {
	vi = kyLegacy(sc, field, vi)
	req := &requirement{origin: describe(sc.where), sc: sc, mode: mode, tlog: ""}
	switch strings.ToLower(vi.FailureAction) {
	case "enforce":
		req.mode = "enforce"
	case "audit":
		req.mode = "audit"
	}
	for _, u := range unknown {
		sc.untranslated(u, "", "", "the field %s is not one the importer knows, and may restrict which images are admitted; the rule refuses every image it applies to until you check it and finish the rule by hand", u)
		req.refuse("unknown field " + u)
	}
	var patterns []pattern
	for k, ref := range vi.ImageReferences {
		patterns = append(patterns, kyvernoPattern(sc, fmt.Sprintf("%s.imageReferences[%d]", field, k), ref)...)
	}
	if len(vi.ImageReferences) == 0 {
		sc.note(field, "the entry names no imageReferences, so it applied to no image; it is left out")
		return
	}
	if len(vi.Attestors) == 0 && len(vi.Attestations) == 0 {
		sc.note(field, "the entry asks for no signature and no attestation: its images are admitted without either, as in Kyverno")
	}
	if len(vi.SkipImageReferences) > 0 {
		sc.stricter(field+".skipImageReferences", "skipImageReferences %q are not imported: Signet checks those images under this rule too", vi.SkipImageReferences)
	}
	switch strings.ToLower(vi.Type) {
	case "", "cosign", "sigstorebundle":
	default:
		sc.untranslated(field+".type", vi.Type, "", "%s signatures are not verified by Signet (it verifies Sigstore/cosign signatures); the rule refuses every image it applies to", vi.Type)
		req.refuse(vi.Type + " signatures are not translated")
	}
	k := kyTranslator{sc: sc, req: req, rule: sc.where.Rule}
	for i, set := range vi.Attestors {
		k.signatureSet(fmt.Sprintf("%s.attestors[%d]", field, i), set)
	}
	for i, at := range vi.Attestations {
		k.attestation(fmt.Sprintf("%s.attestations[%d]", field, i), at)
	}
	k.imageOptions(field, vi)
	if req.tlog == "" {
		req.tlog = "optional" // no signature is checked: the log does not matter
	}
	im.add(patterns, req)
}

// imageOptions translates the entry's digest, repository and validation settings.
func (k *kyTranslator) imageOptions(field string, vi kyVerify) {
	mutate := vi.MutateDigest == nil || *vi.MutateDigest
	verify := vi.VerifyDigest == nil || *vi.VerifyDigest
	switch {
	case verify && !mutate:
		k.req.digestRequired = true
	case !verify && !mutate:
		k.sc.note(field+".mutateDigest", "mutateDigest and verifyDigest are off, so Kyverno let a pod run a tag as written; Signet's mutating webhook pins a tag to the digest it verified")
	}
	if vi.Repository != "" {
		k.sc.stricter(field+".repository", "signatures were read from %s; Signet reads them from the image's own repository, so images whose signatures are only in %s are refused — copy them (cosign copy) or sign in place", vi.Repository, vi.Repository)
	}
	if vi.Validate.Kind != 0 {
		k.sc.untranslated(field+".validate", oneLine(&vi.Validate), "", "validate checks conditions on the verified image data, which Signet's policy cannot express; the rule refuses every image it applies to until you write the check by hand")
		k.req.refuse("validate: " + oneLine(&vi.Validate))
	}
	if vi.Required != nil && !*vi.Required {
		k.sc.note(field+".required", "required: false only relaxed Kyverno's re-check of its own annotation; Signet verifies at admission every time")
	}
	if len(vi.AdditionalExtensions) > 0 {
		k.sc.note(field+".additionalExtensions", "Kyverno ignores additionalExtensions at this level (only an attestor's count); so does the import")
	}
}

// kyLegacy moves the deprecated single-attestor fields (image, key,
// issuer, subject, roots, annotations) into their modern places, as
// Kyverno does.
func kyLegacy(sc scope, field string, vi kyVerify) kyVerify {
	if vi.Image != "" {
		vi.ImageReferences = append(vi.ImageReferences, vi.Image)
	}
	if vi.Key == "" && vi.Issuer == "" && len(vi.Annotations) == 0 {
		return vi
	}
	e := kyAttestor{Annotations: vi.Annotations}
	switch {
	case vi.Key != "":
		e.Keys = &kyKeys{PublicKeys: vi.Key}
	case vi.Issuer != "":
		e.Keyless = &kyKeyless{Issuer: vi.Issuer, Subject: vi.Subject, Roots: vi.Roots}
	}
	set := kyAttestorSet{Entries: []kyAttestor{e}}
	if len(vi.Attestations) > 0 {
		for i := range vi.Attestations {
			vi.Attestations[i].Attestors = append(vi.Attestations[i].Attestors, set)
		}
	} else {
		vi.Attestors = append(vi.Attestors, set)
	}
	sc.note(field, "the deprecated fields image, key, issuer and subject are read as Kyverno reads them: as imageReferences and an attestor")
	return vi
}

// kyTranslator translates the attestors and attestations of one entry.
type kyTranslator struct {
	sc   scope
	req  *requirement
	rule string
}

// signatureSet translates an attestor set that checks the image's signature.
func (k *kyTranslator) signatureSet(field string, set kyAttestorSet) {
	ids, total := k.entries(field, set)
	n := total
	if set.Count != nil && *set.Count > 0 {
		n = *set.Count
	}
	if n > len(ids) {
		k.sc.untranslated(field, "", "", "the set needs %s, and %s translated; the rule refuses every image it applies to until you finish it", count(n, "attestor", "attestors"), count(len(ids), "was", "were"))
		k.req.refuse(fmt.Sprintf("%s needs %s, and %s translated", field, count(n, "attestor", "attestors"), count(len(ids), "was", "were")))
		n = len(ids)
	}
	if n > 0 {
		k.req.clauses = append(k.req.clauses, clause{n: n, ids: ids})
	}
}

// entries translates a set's attestors (one per key when a publicKeys
// holds several, as Kyverno splits them) and counts them as Kyverno does;
// an attestor that cannot be translated is left out, so it never counts.
func (k *kyTranslator) entries(field string, set kyAttestorSet) (ids []string, total int) {
	for i, e := range set.Entries {
		f := fmt.Sprintf("%s.entries[%d]", field, i)
		ss, n := k.entry(f, e)
		total += n
		for _, s := range ss {
			ids = append(ids, k.req.addSigner(s))
		}
	}
	return ids, total
}

// entry translates one attestor; it returns its signers (none when it
// could not be translated) and how many attestors Kyverno counts it as.
func (k *kyTranslator) entry(field string, e kyAttestor) ([]signer, int) {
	drop := func(why string, a ...any) ([]signer, int) {
		k.sc.stricter(field, "attestor not translated: "+why+"; signatures it would accept do not count in Signet", a...)
		return nil, 1
	}
	switch {
	case e.Attestor.Kind != 0:
		return drop("nested attestor sets are not translated")
	case len(e.Annotations) > 0:
		return drop("it requires the signature annotations %s, which Signet does not check", pairs(e.Annotations))
	case e.Certificates != nil:
		return drop("Signet trusts keys and keyless identities, not a given certificate or chain (if the chain check is not needed, write the certificate's public key as a publicKey signer)")
	}
	if e.Repository != "" {
		k.sc.stricter(field+".repository", "signatures were read from %s; Signet reads them from the image's own repository", e.Repository)
	}
	k.signatureAlgorithm(field, e.SignatureAlgorithm)
	switch {
	case e.Keys != nil:
		return k.keys(field+".keys", e.Keys)
	case e.Keyless != nil:
		k.tlog(field+".keyless", e.Keyless.Rekor, e.Keyless.CTLog)
		s, ok := k.keyless(field+".keyless", e.Keyless)
		if !ok {
			return nil, 1
		}
		return []signer{s}, 1
	}
	k.tlog(field, nil, nil)
	k.sc.note(field, "an empty attestor accepts a signature from any certificate of the trusted certificate authorities, whatever its identity; so does the import")
	return []signer{anyIdentity(k.rule + "-any-identity")}, 1
}

func (k *kyTranslator) signatureAlgorithm(field, alg string) {
	if alg != "" && !strings.EqualFold(alg, "sha256") {
		k.sc.stricter(field+".signatureAlgorithm", "Signet verifies signatures over SHA-256 (as cosign signs by default); signatures made with %s are refused", alg)
	}
}

// keys translates a keys attestor: PEM keys (each its own attestor), a
// KMS key or a Secret.
func (k *kyTranslator) keys(field string, ks *kyKeys) ([]signer, int) {
	k.tlog(field, ks.Rekor, ks.CTLog)
	k.signatureAlgorithm(field, ks.SignatureAlgorithm)
	hint := k.rule + "-key"
	switch {
	case hasVariable(ks.PublicKeys) || hasVariable(ks.KMS):
		k.sc.stricter(field, "attestor not translated: its key %q is a variable Kyverno fills in at admission; Signet needs the key itself (publicKey, a KMS URI, or k8s://NAMESPACE/SECRET)", ks.PublicKeys+ks.KMS)
		return nil, 1
	case strings.HasPrefix(strings.TrimSpace(ks.PublicKeys), "-----BEGIN"):
		ss, err := pemSigners(hint, ks.PublicKeys)
		if err != nil {
			k.sc.stricter(field+".publicKeys", "attestor not translated: the key cannot be read (%v); Kyverno could not use it either", err)
			return nil, 1
		}
		return ss, len(ss)
	case ks.PublicKeys != "":
		return k.ref(field+".publicKeys", hint, strings.TrimSpace(ks.PublicKeys))
	case ks.KMS != "":
		return k.ref(field+".kms", k.rule+"-kms", ks.KMS)
	case ks.Secret != nil && (ks.Secret.Name == "" || ks.Secret.Namespace == ""):
		k.sc.stricter(field+".secret", "attestor not translated: the Secret needs a name and a namespace")
		return nil, 1
	case ks.Secret != nil:
		return k.ref(field+".secret", k.rule+"-"+ks.Secret.Name, "k8s://"+ks.Secret.Namespace+"/"+ks.Secret.Name)
	}
	k.sc.stricter(field, "attestor not translated: it names no key")
	return nil, 1
}

func (k *kyTranslator) ref(field, hint, ref string) ([]signer, int) {
	s, err := refSigner(hint, ref)
	if err != nil {
		k.sc.stricter(field, "attestor not translated: %v", err)
		return nil, 1
	}
	return []signer{s}, 1
}

// tlog translates an attestor's Rekor and CT log settings into the rule's
// transparency-log mode (the strictest of its attestors').
func (k *kyTranslator) tlog(field string, r *kyRekor, ct *kyCTLog) {
	mode := "required"
	if r != nil {
		if r.IgnoreTlog {
			mode = "skip"
		}
		if r.URL != "" && strings.TrimSuffix(r.URL, "/") != publicRekor || r.PubKey != "" {
			k.sc.note(field+".rekor", "Signet checks log entries against the transparency logs of its trusted root (signet trust), not a log named in the policy: add this log (%s) to it", orText(r.URL, "its public key"))
		}
	}
	if k.req.tlog != "" && k.req.tlog != mode {
		k.sc.stricter(field+".rekor", "attestors of this entry differ on the transparency log; Signet has one setting per rule, the strictest: %s", stricterOf(tlogOrder, k.req.tlog, mode))
	}
	k.req.tlog = stricterOf(tlogOrder, k.req.tlog, mode)
	if ct == nil {
		return
	}
	if ct.IgnoreSCT {
		k.sc.stricter(field+".ctlog.ignoreSCT", "Signet checks a keyless certificate's signed certificate timestamp whenever its trusted root lists CT logs; certificates without one are refused")
	}
	if ct.PubKey != "" || ct.TSACertChain != "" {
		k.sc.note(field+".ctlog", "Signet checks certificate timestamps and RFC 3161 timestamps against its trusted root (signet trust), not keys named in the policy: add this CT log or timestamp authority to it")
	}
}

func orText(s, alt string) string {
	if s == "" {
		return alt
	}
	return s
}

// pairs writes a map as "k: v, k: v", in key order.
func pairs(m map[string]string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for i, k := range keys {
		keys[i] = k + ": " + m[k]
	}
	return strings.Join(keys, ", ")
}
