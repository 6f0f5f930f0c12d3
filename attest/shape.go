package attest

import (
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode"

	"github.com/signet-dev/signet/internal/suggest"
)

// ShapeKind is what a JSON value of a Shape is.
type ShapeKind int

// Shape kinds.
const (
	// ShapeAny is a value whose shape is not known: anything goes under it.
	ShapeAny ShapeKind = iota
	// ShapeObject is an object with known fields (and, if Open, others).
	ShapeObject
	// ShapeList is a list of elements of one shape.
	ShapeList
	// ShapeMap is an object whose keys are data (a digest set, a label map).
	ShapeMap
	// ShapeValue is a string, number, boolean or null.
	ShapeValue
)

// Shape is the JSON shape of a known predicate type: the fields its objects
// have and what its lists hold, so that a condition over the predicate can
// be checked for fields the predicate cannot have (a typo) before it runs.
// A nil *Shape is ShapeAny.
type Shape struct {
	kind   ShapeKind
	fields map[string]*Shape
	open   bool
	elem   *Shape
}

// Kind says what a value of this shape is.
func (s *Shape) Kind() ShapeKind {
	if s == nil {
		return ShapeAny
	}
	return s.kind
}

// Field returns the shape of an object's field (nil when it is not known)
// and whether the field can be there at all: false only for an object
// whose fields are all known, or a list or a single value, which have none.
func (s *Shape) Field(name string) (*Shape, bool) {
	switch s.Kind() {
	case ShapeAny:
		return nil, true
	case ShapeMap:
		return s.elem, true
	case ShapeObject:
		if f, ok := s.fields[name]; ok {
			return f, true
		}
		return nil, s.open
	}
	return nil, false
}

// Elem is the shape of a list's elements or a map's values; nil when not
// known.
func (s *Shape) Elem() *Shape {
	if k := s.Kind(); k == ShapeList || k == ShapeMap {
		return s.elem
	}
	return nil
}

// Fields lists an object's known fields, sorted.
func (s *Shape) Fields() []string {
	if s.Kind() != ShapeObject {
		return nil
	}
	return sortedKeys(s.fields)
}

// Suggest returns the known field that name is most likely a typo of, or "".
func (s *Shape) Suggest(name string) string { return suggest.Nearest(name, s.Fields()) }

// KnownPredicate is a predicate type whose shape Signet knows.
type KnownPredicate struct {
	// Name says what such a predicate is, in a sentence: "a vuln predicate".
	Name  string
	Shape *Shape
}

// PredicateShape returns the shape of a predicate type's predicate, for the
// types whose shape is specified: cosign's vuln predicate, SLSA provenance
// v1 and v0.2, CycloneDX (1.4 to 1.6) and SPDX (2.2 and 2.3 JSON). ok is
// false for other types, whose predicates can be anything.
func PredicateShape(predicateType string) (p KnownPredicate, ok bool) {
	known, err := knownShapes()
	if err != nil {
		// The shapes are built from files compiled in; a test holds them.
		panic(err)
	}
	p, ok = known[predicateType]
	return p, ok
}

var knownShapes = sync.OnceValues(func() (map[string]KnownPredicate, error) {
	out := map[string]KnownPredicate{}
	for pt, d := range map[string]struct{ name, spec string }{
		PredicateVuln:   {"a vuln predicate", vulnShape},
		PredicateSLSA1:  {"SLSA provenance v1", slsa1Shape},
		PredicateSLSA02: {"SLSA provenance v0.2", slsa02Shape},
		PredicateSPDX:   {"an SPDX document", spdxShape},
	} {
		s, err := parseShape(d.spec)
		if err != nil {
			return nil, fmt.Errorf("shape of %s: %w", pt, err)
		}
		out[pt] = KnownPredicate{Name: d.name, Shape: s}
	}
	schemas, err := cdxSchemas()
	if err != nil {
		return nil, err
	}
	var roots []*jsonSchema
	for _, v := range cdxVersions {
		roots = append(roots, schemas[v])
	}
	out[PredicateCycloneDX] = KnownPredicate{Name: "a CycloneDX BOM", Shape: (&schemaShapes{memo: map[string]*Shape{}}).of(roots)}
	return out, nil
})

// The shapes below are written in a small notation: fields separated by
// white space; "name" is a single value, "name*" anything, "name<>" a map of
// single values, "name<*>" a map of anything, "name{...}" an object,
// "name[]" a list of single values, "name[]*" a list of anything,
// "name[]{...}" a list of objects; a bare "*" among an object's fields lets
// it have others. $NAME stands for the text of a definition below.

// vulnShape is cosign's vuln predicate
// (https://github.com/sigstore/cosign/blob/main/specs/COSIGN_VULN_ATTESTATION_SPEC.md).
// The spec leaves scanner.result free; Signet writes a summary and the
// findings there, which conditions read, so those are checked and anything
// else in the result is not.
const vulnShape = `
invocation{parameters* uri event_id builder.id}
scanner{uri version db{uri version}
  result{* target
    summary{critical high medium low unknown total fixable{critical high medium low unknown total}}
    vulnerabilities[]{* id severity package installedVersion fixedVersion}}}
metadata{scanStartedOn scanFinishedOn}`

// slsa1Shape is SLSA provenance v1 (https://slsa.dev/spec/v1.0/provenance).
const slsa1Shape = `
buildDefinition{buildType externalParameters* internalParameters* resolvedDependencies[]{$RD}}
runDetails{builder{id builderDependencies[]{$RD} version<>} metadata{invocationId startedOn finishedOn} byproducts[]{$RD}}`

// resourceDescriptor is in-toto's ResourceDescriptor.
const resourceDescriptor = `uri digest<> name downloadLocation mediaType content annotations*`

// slsa02Shape is SLSA provenance v0.2 (https://slsa.dev/spec/v0.2/provenance).
const slsa02Shape = `
builder{id}
buildType
invocation{configSource{uri digest<> entryPoint} parameters* environment*}
buildConfig*
metadata{buildInvocationId buildStartedOn buildFinishedOn completeness{parameters environment materials} reproducible}
materials[]{uri digest<>}`

// spdxShape is an SPDX 2.3 JSON document, the fields of the SPDX 2.3 JSON
// schema (2.2's are among them); @context and @graph are SPDX 3's JSON-LD,
// which shares the predicate type, so that conditions can still read it.
const spdxShape = `
SPDXID spdxVersion name dataLicense documentNamespace comment documentDescribes[]
creationInfo{comment created creators[] licenseListVersion}
annotations[]{$ANNOTATION}
externalDocumentRefs[]{checksum{$CHECKSUM} externalDocumentId spdxDocument}
hasExtractedLicensingInfos[]{comment crossRefs[]{isLive isValid isWayBackLink match order timestamp url} extractedText licenseId name seeAlsos[]}
revieweds[]{comment reviewDate reviewer}
packages[]{SPDXID name annotations[]{$ANNOTATION} attributionTexts[] builtDate checksums[]{$CHECKSUM} comment copyrightText
  description downloadLocation externalRefs[]{comment referenceCategory referenceLocator referenceType} filesAnalyzed hasFiles[]
  homepage licenseComments licenseConcluded licenseDeclared licenseInfoFromFiles[] originator packageFileName
  packageVerificationCode{packageVerificationCodeExcludedFiles[] packageVerificationCodeValue} primaryPackagePurpose releaseDate
  sourceInfo summary supplier validUntilDate versionInfo}
files[]{SPDXID fileName annotations[]{$ANNOTATION} artifactOfs[]* attributionTexts[] checksums[]{$CHECKSUM} comment copyrightText
  fileContributors[] fileDependencies[] fileTypes[] licenseComments licenseConcluded licenseInfoInFiles[] noticeText}
snippets[]{SPDXID name annotations[]{$ANNOTATION} attributionTexts[] comment copyrightText licenseComments licenseConcluded
  licenseInfoInSnippets[] ranges[]{endPointer{$POINTER} startPointer{$POINTER}} snippetFromFile}
relationships[]{spdxElementId relatedSpdxElement relationshipType comment}
@context* @graph*`

var shapeDefinitions = strings.NewReplacer(
	"$RD", resourceDescriptor,
	"$ANNOTATION", "annotationDate annotationType annotator comment",
	"$CHECKSUM", "algorithm checksumValue",
	"$POINTER", "reference offset lineNumber",
)

// parseShape reads the notation above into the shape of an object.
func parseShape(spec string) (*Shape, error) {
	p := &shapeParser{in: []rune(shapeDefinitions.Replace(spec))}
	s, err := p.object()
	if err == nil && p.pos < len(p.in) {
		err = fmt.Errorf("unexpected %q at %d", p.in[p.pos], p.pos)
	}
	return s, err
}

type shapeParser struct {
	in  []rune
	pos int
}

func (p *shapeParser) skipSpace() {
	for p.pos < len(p.in) && unicode.IsSpace(p.in[p.pos]) {
		p.pos++
	}
}

func (p *shapeParser) peek(s string) bool {
	if strings.HasPrefix(string(p.in[p.pos:min(len(p.in), p.pos+len(s))]), s) {
		p.pos += len([]rune(s))
		return true
	}
	return false
}

// object reads fields up to a closing brace or the end.
func (p *shapeParser) object() (*Shape, error) {
	s := &Shape{kind: ShapeObject, fields: map[string]*Shape{}}
	for {
		p.skipSpace()
		if p.pos == len(p.in) || p.in[p.pos] == '}' {
			return s, nil
		}
		if p.peek("*") {
			s.open = true
			continue
		}
		start := p.pos
		for p.pos < len(p.in) && !strings.ContainsRune("{}[]<>* \t\n", p.in[p.pos]) {
			p.pos++
		}
		name := string(p.in[start:p.pos])
		if name == "" {
			return nil, fmt.Errorf("expected a field name at %d", p.pos)
		}
		if _, dup := s.fields[name]; dup {
			return nil, fmt.Errorf("field %q twice", name)
		}
		f, err := p.value()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		s.fields[name] = f
	}
}

// value reads what follows a field name.
func (p *shapeParser) value() (*Shape, error) {
	switch {
	case p.peek("[]"):
		elem, err := p.value()
		return &Shape{kind: ShapeList, elem: elem}, err
	case p.peek("<*>"):
		return &Shape{kind: ShapeMap}, nil
	case p.peek("<>"):
		return &Shape{kind: ShapeMap, elem: &Shape{kind: ShapeValue}}, nil
	case p.peek("*"):
		return nil, nil
	case p.peek("{"):
		s, err := p.object()
		if err == nil && !p.peek("}") {
			err = fmt.Errorf("missing }")
		}
		return s, err
	}
	return &Shape{kind: ShapeValue}, nil
}

// schemaShapes builds shapes from JSON schemas: the shape of the values
// that any of a set of schemas describes.
type schemaShapes struct {
	memo map[string]*Shape
}

func (b *schemaShapes) of(nodes []*jsonSchema) *Shape {
	flat := flattenSchemas(nodes)
	ids := make([]string, len(flat))
	for i, n := range flat {
		ids[i] = fmt.Sprintf("%p", n)
	}
	sort.Strings(ids)
	key := strings.Join(ids, ",")
	if s, ok := b.memo[key]; ok {
		return s
	}
	s := &Shape{}
	b.memo[key] = s // before the children: schemas are recursive
	var props map[string][]*jsonSchema
	var items []*jsonSchema
	obj, list, value, open := false, false, false, false
	for _, n := range flat {
		switch {
		case n.always != nil:
			open, obj = open || *n.always, obj || *n.always
		case n.props != nil || n.extra != nil || hasAnyType(n, "object"):
			obj = true
			// A schema that combines others leaves to them which fields
			// may be there: its own lack of additionalProperties says no
			// more than that the value is an object.
			combines := n.allOf != nil || n.anyOf != nil || n.oneOf != nil || n.ifS != nil
			open = open || !n.noExtra && !combines
			for k, sub := range n.props {
				if props == nil {
					props = map[string][]*jsonSchema{}
				}
				props[k] = append(props[k], sub)
			}
		case n.items != nil || n.tuple != nil || hasAnyType(n, "array"):
			list = true
			if n.items != nil {
				items = append(items, n.items)
			}
			items = append(items, n.tuple...)
		case len(n.types) > 0 || n.enum != nil || n.isConst:
			value = true
		default:
			open, obj = true, true // {}: anything
		}
	}
	switch {
	case obj && list, obj && open && len(props) == 0:
		s.kind = ShapeAny
	case obj:
		s.kind, s.open, s.fields = ShapeObject, open, map[string]*Shape{}
		for k, subs := range props {
			s.fields[k] = b.of(subs)
		}
	case list:
		s.kind = ShapeList
		if len(items) > 0 {
			s.elem = b.of(items)
		}
	case value:
		s.kind = ShapeValue
	}
	if s.kind == ShapeAny {
		b.memo[key] = nil
		return nil
	}
	return s
}

// flattenSchemas follows $ref and expands allOf, anyOf, oneOf and if/then/
// else into the schemas that say what a value can hold. A combined schema
// that says nothing of the shape (only "required", say) is left out: it
// narrows the schema it is part of, and widens nothing.
func flattenSchemas(nodes []*jsonSchema) []*jsonSchema {
	var out []*jsonSchema
	seen := map[*jsonSchema]bool{}
	var add func(n *jsonSchema, member bool)
	add = func(n *jsonSchema, member bool) {
		n = n.deref()
		if seen[n] {
			return
		}
		seen[n] = true
		combined := append(append(append([]*jsonSchema{}, n.allOf...), n.anyOf...), n.oneOf...)
		for _, c := range []*jsonSchema{n.thenS, n.elseS} {
			if c != nil {
				combined = append(combined, c)
			}
		}
		shapes := n.always != nil || n.props != nil || n.extra != nil || n.items != nil || n.tuple != nil ||
			len(n.types) > 0 || n.enum != nil || n.isConst
		if shapes || len(combined) == 0 && !member {
			out = append(out, n)
		}
		for _, c := range combined {
			add(c, true)
		}
	}
	for _, n := range nodes {
		add(n, false)
	}
	return out
}

func hasAnyType(n *jsonSchema, t string) bool {
	for _, x := range n.types {
		if x == t {
			return true
		}
	}
	return false
}
