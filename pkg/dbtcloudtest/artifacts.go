package dbtcloudtest

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
)

// Schema versions of the generated artifacts.
const (
	ManifestSchema   = "https://schemas.getdbt.com/dbt/manifest/v12.json"
	CatalogSchema    = "https://schemas.getdbt.com/dbt/catalog/v1.json"
	RunResultsSchema = "https://schemas.getdbt.com/dbt/run-results/v6.json"
	SourcesSchema    = "https://schemas.getdbt.com/dbt/sources/v3.json"
)

// stepKind says what a run step produced.
type stepKind int

const (
	stepNone stepKind = iota
	stepBuild
	stepDocs
	stepTest
	stepFreshness
)

// stepOf resolves a 1-based step index (0 = last step) of a generated run.
func (spec *runSpec) stepOf(step int) stepKind {
	last := len(spec.run.Steps)
	if step <= 0 || step > last {
		if step > last {
			return stepNone
		}
		step = last
	}
	switch spec.kind {
	case kindBuild:
		switch step {
		case last:
			return stepDocs
		case last - 1:
			return stepBuild
		}
	case kindTest:
		if step == last {
			return stepTest
		}
	case kindFreshness:
		if step == last {
			return stepFreshness
		}
	}
	return stepNone
}

// names lists the artifacts a step produced, sorted.
func (k stepKind) names() []string {
	switch k {
	case stepBuild, stepTest:
		return []string{"manifest.json", "run_results.json"}
	case stepDocs:
		return []string{"catalog.json", "manifest.json", "run_results.json"}
	case stepFreshness:
		return []string{"manifest.json", "sources.json"}
	}
	return nil
}

// writeArtifact streams one artifact of a generated run to w. It reports
// false when the step did not produce the file.
func (g *generator) writeArtifact(w io.Writer, spec *runSpec, step int, name string) (bool, error) {
	k := spec.stepOf(step)
	if !slices.Contains(k.names(), name) {
		return false, nil
	}
	bw := bufio.NewWriterSize(w, 64<<10)
	j := newJSONWriter(bw)
	inv := uuidFor(g.cfg.Seed, invSalt(k), spec.run.ID)
	switch name {
	case "manifest.json":
		g.writeManifest(j, spec, inv)
	case "catalog.json":
		g.writeCatalog(j, spec, inv)
	case "run_results.json":
		switch k {
		case stepDocs:
			g.writeRunResults(j, spec, inv, g.docsResults(spec), "generate")
		case stepTest:
			g.writeRunResults(j, spec, inv, g.outcomes(spec), "test")
		default:
			g.writeRunResults(j, spec, inv, g.outcomes(spec), "build")
		}
	case "sources.json":
		g.writeSources(j, spec, inv)
	}
	bw.WriteByte('\n')
	return true, bw.Flush()
}

func (g *generator) artifactBytes(spec *runSpec, step int, name string) ([]byte, bool) {
	k := spec.stepOf(step)
	key := fmt.Sprintf("%d/%d/%s", spec.run.ID, k, name)
	if b, ok := g.cache.get(key); ok {
		return b, true
	}
	var buf bytes.Buffer
	ok, err := g.writeArtifact(&buf, spec, step, name)
	if !ok || err != nil { // writes to a bytes.Buffer cannot fail
		return nil, false
	}
	b := buf.Bytes()
	g.cache.put(key, b)
	return b, true
}

func (g *generator) metadata(j *jsonWriter, spec *runSpec, schema, inv string, manifest bool) {
	j.key("metadata")
	j.beginObject()
	j.kStr("dbt_schema_version", schema)
	j.kStr("dbt_version", g.cfg.DbtVersion)
	j.key("generated_at")
	j.time(spec.run.FinishedAt)
	j.kStr("invocation_id", inv)
	j.key("invocation_started_at")
	j.time(spec.run.StartedAt)
	j.key("env")
	j.beginObject()
	j.kStr("DBT_CLOUD_PROJECT_ID", fmt.Sprint(spec.run.ProjectID))
	j.kStr("DBT_CLOUD_RUN_ID", fmt.Sprint(spec.run.ID))
	j.kStr("DBT_CLOUD_JOB_ID", fmt.Sprint(spec.run.JobID))
	j.kStr("DBT_CLOUD_RUN_REASON_CATEGORY", "scheduled")
	j.endObject()
	if manifest {
		j.kStr("project_name", spec.env.pkg)
		j.kStr("project_id", hex40(g.cfg.Seed, "projid", spec.run.ProjectID)[:32])
		j.kNull("user_id")
		j.kBool("send_anonymous_usage_stats", false)
		j.kStr("adapter_type", g.cfg.Adapter)
		j.key("quoting")
		j.rawS(`{"database":true,"schema":true,"identifier":true,"column":null}`)
	}
	j.endObject()
}

// relation renders the quoted relation name dbt writes for n.
func (g *generator) relation(n *genNode) string {
	if n.materialized == "ephemeral" || n.resourceType == "test" || n.resourceType == "exposure" {
		return ""
	}
	if g.cfg.Adapter == "snowflake" {
		return n.database + "." + n.schema + "." + n.alias
	}
	return `"` + n.database + `"."` + n.schema + `"."` + n.alias + `"`
}

// ref renders how compiled SQL refers to node id.
func (g *generator) ref(st *envState, id string) string {
	n := st.byID[id]
	if n == nil {
		return id
	}
	if n.materialized == "ephemeral" {
		return "__dbt__cte__" + n.name
	}
	return g.relation(n)
}

func jinjaRef(st *envState, id string) string {
	n := st.byID[id]
	if n == nil {
		return id
	}
	if n.resourceType == "source" {
		return fmt.Sprintf("{{ source('%s', '%s') }}", n.sourceName, n.name)
	}
	return fmt.Sprintf("{{ ref('%s') }}", n.name)
}

func (g *generator) rawCode(st *envState, n *genNode) string {
	var b strings.Builder
	switch n.resourceType {
	case "seed", "source", "exposure":
		return ""
	case "test":
		return fmt.Sprintf("{{ test_%s(**_dbt_generic_test_kwargs) }}", n.testKind)
	case "snapshot":
		fmt.Fprintf(&b, "{%% snapshot %s %%}\n{{ config(unique_key='%s', strategy='timestamp', updated_at='updated_at') }}\nselect * from %s\n{%% endsnapshot %%}",
			n.name, n.columns[0].name, jinjaRef(st, n.deps[0]))
		return b.String()
	}
	if n.materialized != "view" {
		fmt.Fprintf(&b, "{{ config(materialized='%s') }}\n\n", n.materialized)
	}
	b.WriteString("with\n")
	for i, d := range n.deps {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "dep_%d as (\n    select * from %s\n)", i, jinjaRef(st, d))
	}
	b.WriteString("\n\nselect\n")
	for i, c := range n.columns {
		fmt.Fprintf(&b, "    %s", c.name)
		if i < len(n.columns)-1 {
			b.WriteString(",\n")
		}
	}
	b.WriteString("\nfrom dep_0")
	if n.materialized == "incremental" {
		b.WriteString("\n{% if is_incremental() %}\nwhere updated_at > (select max(updated_at) from {{ this }})\n{% endif %}")
	}
	return b.String()
}

func (g *generator) compiledCode(st *envState, n *genNode) string {
	var b strings.Builder
	switch n.resourceType {
	case "seed", "source", "exposure":
		return ""
	case "test":
		rel := g.ref(st, n.attached)
		switch n.testKind {
		case "unique":
			fmt.Fprintf(&b, "\n    \nselect\n    %[1]s as unique_field,\n    count(*) as n_records\nfrom %[2]s\nwhere %[1]s is not null\ngroup by %[1]s\nhaving count(*) > 1\n", n.testColumn, rel)
		case "accepted_values":
			fmt.Fprintf(&b, "\nwith all_values as (\n    select %[1]s as value_field, count(*) as n_records\n    from %[2]s\n    group by %[1]s\n)\nselect *\nfrom all_values\nwhere value_field not in ('a','b','c')\n", n.testColumn, rel)
		case "relationships":
			fmt.Fprintf(&b, "\nwith child as (\n    select %[1]s as from_field\n    from %[2]s\n    where %[1]s is not null\n),\nparent as (\n    select id as to_field\n    from %[3]s\n)\nselect from_field\nfrom child\nleft join parent on child.from_field = parent.to_field\nwhere parent.to_field is null\n", n.testColumn, rel, g.ref(st, n.testTo))
		default:
			fmt.Fprintf(&b, "\n    \nselect %[1]s\nfrom %[2]s\nwhere %[1]s is null\n", n.testColumn, rel)
		}
		return b.String()
	case "snapshot":
		fmt.Fprintf(&b, "\nselect * from %s\n", g.ref(st, n.deps[0]))
		return b.String()
	}
	b.Grow(g.cfg.CompiledCodeBytes + 256)
	b.WriteString("with\n")
	for i, d := range n.deps {
		if i > 0 {
			b.WriteString(",\n")
		}
		fmt.Fprintf(&b, "dep_%d as (\n    select * from %s\n)", i, g.ref(st, d))
	}
	b.WriteString("\n\nselect\n")
	for _, c := range n.columns {
		fmt.Fprintf(&b, "    %s,\n", c.name)
	}
	// Derived expressions up to the configured size, as real marts have.
	for k := 0; b.Len() < g.cfg.CompiledCodeBytes; k++ {
		c := n.columns[k%len(n.columns)].name
		fmt.Fprintf(&b, "    case when %s is null then 0 else 1 end as has_%s_%d,\n", c, c, k)
	}
	b.WriteString("    current_timestamp as _loaded_at\nfrom dep_0")
	return b.String()
}

func checksum(s string) string {
	h := sha256.Sum256([]byte(s))
	return hex.EncodeToString(h[:])
}

func (g *generator) nodeChecksum(st *envState, n *genNode) string {
	if n.resourceType == "seed" {
		return checksum(n.origPath)
	}
	return checksum(g.rawCode(st, n))
}

// metaJSON is the node's meta object, nil when empty.
func (n *genNode) metaJSON() []byte {
	if n.owner == "" || n.resourceType == "test" {
		return nil
	}
	return fmt.Appendf(nil, `{"owner":%q,"tier":%q}`, n.owner, n.tier)
}

func (g *generator) writeManifest(j *jsonWriter, spec *runSpec, inv string) {
	st := spec.state
	pkg := spec.env.pkg
	created := float64(spec.state.version) + float64(baseTime.Unix())
	j.beginObject()
	g.metadata(j, spec, ManifestSchema, inv, true)
	macros := map[string]bool{}
	j.key("nodes")
	j.beginObject()
	for _, n := range st.nodes {
		switch n.resourceType {
		case "model", "seed", "snapshot", "test":
		default:
			continue
		}
		for _, m := range n.macros {
			macros[m] = true
		}
		j.key(n.uniqueID)
		j.beginObject()
		j.kStr("database", n.database)
		j.kStr("schema", n.schema)
		j.kStr("name", n.name)
		j.kStr("resource_type", n.resourceType)
		j.kStr("package_name", pkg)
		j.kStr("path", n.path)
		j.kStr("original_file_path", n.origPath)
		j.kStr("unique_id", n.uniqueID)
		j.key("fqn")
		j.beginArray()
		j.str(pkg)
		for _, p := range strings.Split(strings.TrimSuffix(strings.TrimSuffix(n.path, ".sql"), ".csv"), "/") {
			j.str(p)
		}
		j.endArray()
		j.kStr("alias", n.alias)
		j.key("checksum")
		j.beginObject()
		j.kStr("name", "sha256")
		j.kStr("checksum", g.nodeChecksum(st, n))
		j.endObject()
		g.writeNodeConfig(j, n)
		j.kStrings("tags", n.tags)
		j.kStr("description", n.description)
		g.writeColumns(j, n)
		j.key("meta")
		writeMeta(j, n)
		j.kNull("group")
		j.key("docs")
		j.rawS(`{"show":true,"node_color":null}`)
		if n.resourceType == "test" {
			j.kNull("patch_path")
		} else {
			j.kStr("patch_path", pkg+"://"+strings.TrimSuffix(n.origPath, ".sql")+".yml")
		}
		j.kNull("build_path")
		j.kEmptyObject("unrendered_config")
		j.kFloat("created_at", created)
		j.kStrOrNull("relation_name", g.relation(n))
		if n.resourceType != "seed" {
			j.kStr("raw_code", g.rawCode(st, n))
			j.kStr("language", "sql")
			j.key("refs")
			j.beginArray()
			for _, d := range n.deps {
				if dn := st.byID[d]; dn != nil && dn.resourceType != "source" {
					j.beginObject()
					j.kStr("name", dn.name)
					j.kNull("package")
					j.kNull("version")
					j.endObject()
				}
			}
			j.endArray()
			j.key("sources")
			j.beginArray()
			for _, d := range n.deps {
				if dn := st.byID[d]; dn != nil && dn.resourceType == "source" {
					j.strings([]string{dn.sourceName, dn.name})
				}
			}
			j.endArray()
			j.kEmptyArray("metrics")
		} else {
			j.kStr("raw_code", "")
			j.kStr("root_path", "/tmp/jobs/"+fmt.Sprint(spec.run.ID)+"/target")
		}
		j.key("depends_on")
		j.beginObject()
		j.kStrings("macros", n.macros)
		j.kStrings("nodes", n.deps)
		j.endObject()
		if n.resourceType != "seed" {
			j.kStr("compiled_path", "target/compiled/"+pkg+"/"+n.origPath)
			j.kBool("compiled", true)
			j.kStr("compiled_code", g.compiledCode(st, n))
			j.kBool("extra_ctes_injected", true)
			j.kEmptyArray("extra_ctes")
			j.key("contract")
			j.rawS(`{"enforced":false,"alias_types":true,"checksum":null}`)
		}
		switch n.resourceType {
		case "model":
			j.kStr("access", "protected")
			j.kEmptyArray("constraints")
			j.kNull("version")
			j.kNull("latest_version")
			j.kNull("deprecation_date")
			j.kNull("primary_key")
		case "test":
			j.kStr("column_name", n.testColumn)
			j.kStr("file_key_name", "models."+st.byID[n.attached].name)
			j.kStr("attached_node", n.attached)
			j.key("test_metadata")
			j.beginObject()
			j.kStr("name", n.testKind)
			j.key("kwargs")
			j.beginObject()
			j.kStr("column_name", n.testColumn)
			j.kStr("model", "{{ get_where_subquery(ref('"+st.byID[n.attached].name+"')) }}")
			switch n.testKind {
			case "accepted_values":
				j.kStrings("values", []string{"a", "b", "c"})
			case "relationships":
				j.kStr("to", strings.Trim(jinjaRef(st, n.testTo), "{} "))
				j.kStr("field", "id")
			}
			j.endObject()
			j.kNull("namespace")
			j.endObject()
		}
		j.endObject()
	}
	j.endObject()

	j.key("sources")
	j.beginObject()
	for _, n := range st.nodes {
		if n.resourceType != "source" {
			continue
		}
		j.key(n.uniqueID)
		j.beginObject()
		j.kStr("database", n.database)
		j.kStr("schema", n.schema)
		j.kStr("name", n.name)
		j.kStr("resource_type", "source")
		j.kStr("package_name", pkg)
		j.kStr("path", n.path)
		j.kStr("original_file_path", n.origPath)
		j.kStr("unique_id", n.uniqueID)
		j.kStrings("fqn", []string{pkg, "staging", n.sourceName, n.sourceName, n.name})
		j.kStr("source_name", n.sourceName)
		j.kStr("source_description", "Data loaded from "+n.sourceName+".")
		j.kStr("loader", n.loader)
		j.kStr("identifier", n.alias)
		j.key("quoting")
		j.rawS(`{"database":null,"schema":null,"identifier":null,"column":null}`)
		j.kStr("loaded_at_field", "_loaded_at")
		j.key("freshness")
		j.rawS(freshnessCriteria)
		j.kNull("external")
		j.kStr("description", n.description)
		g.writeColumns(j, n)
		j.key("meta")
		writeMeta(j, n)
		j.kEmptyObject("source_meta")
		j.kStrings("tags", n.tags)
		j.key("config")
		j.beginObject()
		j.kBool("enabled", true)
		j.kEmptyObject("event_time")
		j.endObject()
		j.kEmptyObject("unrendered_config")
		j.kStr("relation_name", g.relation(n))
		j.kFloat("created_at", created)
		j.endObject()
	}
	j.endObject()

	j.key("macros")
	j.beginObject()
	names := make([]string, 0, len(macros))
	for m := range macros {
		names = append(names, m)
	}
	slices.Sort(names)
	for _, m := range names {
		short := m[strings.LastIndexByte(m, '.')+1:]
		j.key(m)
		j.beginObject()
		j.kStr("name", short)
		j.kStr("resource_type", "macro")
		j.kStr("package_name", "dbt")
		j.kStr("path", "macros/"+short+".sql")
		j.kStr("original_file_path", "macros/"+short+".sql")
		j.kStr("unique_id", m)
		j.kStr("macro_sql", "{% macro "+short+"() %}{% endmacro %}")
		j.key("depends_on")
		j.rawS(`{"macros":[]}`)
		j.kStr("description", "")
		j.kEmptyObject("meta")
		j.key("docs")
		j.rawS(`{"show":true,"node_color":null}`)
		j.kNull("patch_path")
		j.kEmptyArray("arguments")
		j.kFloat("created_at", created)
		j.kNull("supported_languages")
		j.endObject()
	}
	j.endObject()
	j.kEmptyObject("docs")

	j.key("exposures")
	j.beginObject()
	for _, n := range st.nodes {
		if n.resourceType != "exposure" {
			continue
		}
		j.key(n.uniqueID)
		j.beginObject()
		j.kStr("name", n.name)
		j.kStr("resource_type", "exposure")
		j.kStr("package_name", pkg)
		j.kStr("path", n.path)
		j.kStr("original_file_path", n.origPath)
		j.kStr("unique_id", n.uniqueID)
		j.kStrings("fqn", []string{pkg, n.name})
		j.kStr("type", "dashboard")
		j.key("owner")
		j.beginObject()
		j.kStr("email", n.owner)
		j.kStr("name", strings.Split(n.owner, "@")[0])
		j.endObject()
		j.kStr("description", n.description)
		j.kStr("label", n.label)
		j.kStr("maturity", "high")
		j.key("meta")
		writeMeta(j, n)
		j.kStrings("tags", n.tags)
		j.key("config")
		j.rawS(`{"enabled":true}`)
		j.kEmptyObject("unrendered_config")
		j.kStr("url", n.url)
		j.key("depends_on")
		j.beginObject()
		j.kEmptyArray("macros")
		j.kStrings("nodes", n.deps)
		j.endObject()
		j.key("refs")
		j.beginArray()
		for _, d := range n.deps {
			j.beginObject()
			j.kStr("name", st.byID[d].name)
			j.kNull("package")
			j.kNull("version")
			j.endObject()
		}
		j.endArray()
		j.kEmptyArray("sources")
		j.kEmptyArray("metrics")
		j.kFloat("created_at", created)
		j.endObject()
	}
	j.endObject()
	j.kEmptyObject("metrics")
	j.kEmptyObject("groups")
	j.kEmptyObject("selectors")
	j.kEmptyObject("disabled")

	// parent_map and child_map cover every node, source and exposure.
	children := map[string][]string{}
	for _, n := range st.nodes {
		for _, d := range n.deps {
			children[d] = append(children[d], n.uniqueID)
		}
	}
	j.key("parent_map")
	j.beginObject()
	for _, n := range st.nodes {
		j.key(n.uniqueID)
		deps := slices.Clone(n.deps)
		slices.Sort(deps)
		j.strings(deps)
	}
	j.endObject()
	j.key("child_map")
	j.beginObject()
	for _, n := range st.nodes {
		j.key(n.uniqueID)
		c := children[n.uniqueID]
		slices.Sort(c)
		j.strings(c)
	}
	j.endObject()
	j.kEmptyObject("group_map")
	j.kEmptyObject("saved_queries")
	j.kEmptyObject("semantic_models")
	j.kEmptyObject("unit_tests")
	j.endObject()
}

func writeMeta(j *jsonWriter, n *genNode) {
	if m := n.metaJSON(); m != nil {
		j.raw(m)
		return
	}
	j.rawS("{}")
}

func (g *generator) writeNodeConfig(j *jsonWriter, n *genNode) {
	j.key("config")
	j.beginObject()
	j.kBool("enabled", true)
	j.kNull("alias")
	j.kNull("schema")
	j.kNull("database")
	j.kStrings("tags", n.tags)
	j.key("meta")
	writeMeta(j, n)
	j.kNull("group")
	j.kStr("materialized", n.materialized)
	j.kNull("incremental_strategy")
	j.kEmptyObject("persist_docs")
	j.kEmptyArray("post-hook")
	j.kEmptyArray("pre-hook")
	j.kEmptyObject("quoting")
	j.kEmptyObject("column_types")
	j.kNull("full_refresh")
	j.kNull("unique_key")
	j.kStr("on_schema_change", "ignore")
	j.kStr("on_configuration_change", "apply")
	j.kEmptyObject("grants")
	j.kEmptyArray("packages")
	j.key("docs")
	j.rawS(`{"show":true,"node_color":null}`)
	j.key("contract")
	j.rawS(`{"enforced":false,"alias_types":true}`)
	if n.resourceType == "test" {
		j.kStr("severity", n.severity)
		j.kNull("store_failures")
		j.kNull("where")
		j.kNull("limit")
		j.kStr("fail_calc", "count(*)")
		j.kStr("warn_if", "!= 0")
		j.kStr("error_if", "!= 0")
	}
	if n.resourceType == "model" {
		j.kStr("access", "protected")
	}
	j.endObject()
}

func (g *generator) writeColumns(j *jsonWriter, n *genNode) {
	j.key("columns")
	j.beginObject()
	for _, c := range n.columns {
		j.key(c.name)
		j.beginObject()
		j.kStr("name", c.name)
		j.kStr("description", c.description)
		j.kEmptyObject("meta")
		j.kNull("data_type")
		j.kEmptyArray("constraints")
		j.kNull("quote")
		j.kEmptyArray("tags")
		j.endObject()
	}
	j.endObject()
}

// catalogName is how the warehouse reports an identifier.
func (g *generator) catalogName(s string) string {
	if g.cfg.Adapter == "snowflake" {
		return strings.ToUpper(s)
	}
	return s
}

// inCatalog reports whether n has a warehouse relation.
func inCatalog(n *genNode) bool {
	switch n.resourceType {
	case "model":
		return n.materialized != "ephemeral"
	case "seed", "snapshot", "source":
		return true
	}
	return false
}

func (g *generator) relationType(n *genNode) string {
	if n.materialized == "view" {
		return "VIEW"
	}
	return "BASE TABLE"
}

func (g *generator) catalogOwner() string {
	if g.cfg.Adapter == "snowflake" {
		return "TRANSFORMER"
	}
	return "dbt_cloud"
}

func (g *generator) writeCatalog(j *jsonWriter, spec *runSpec, inv string) {
	st := spec.state
	j.beginObject()
	g.metadata(j, spec, CatalogSchema, inv, false)
	for _, section := range []string{"nodes", "sources"} {
		j.key(section)
		j.beginObject()
		for _, n := range st.nodes {
			if !inCatalog(n) || (section == "sources") != (n.resourceType == "source") {
				continue
			}
			j.key(n.uniqueID)
			j.beginObject()
			j.key("metadata")
			j.beginObject()
			j.kStr("type", g.relationType(n))
			j.kStr("schema", g.catalogName(n.schema))
			j.kStr("name", g.catalogName(n.alias))
			j.kStr("database", g.catalogName(n.database))
			j.kNull("comment")
			j.kStr("owner", g.catalogOwner())
			j.endObject()
			j.key("columns")
			j.beginObject()
			for i, c := range n.columns {
				name := g.catalogName(c.name)
				j.key(name)
				j.beginObject()
				j.kStr("type", c.kind.typeName(g.cfg.Adapter))
				j.kInt("index", int64(i+1))
				j.kStr("name", name)
				j.kNull("comment")
				j.endObject()
			}
			j.endObject()
			j.key("stats")
			j.beginObject()
			if g.cfg.Adapter == "snowflake" && n.materialized != "view" {
				rows := int64(hashN(g.cfg.Seed, "catrows:"+n.uniqueID, int64(st.version)) % 1_000_000)
				j.key("row_count")
				j.beginObject()
				j.kStr("id", "row_count")
				j.kStr("label", "Row Count")
				j.kInt("value", rows)
				j.kBool("include", true)
				j.kStr("description", "An approximate count of rows in this table")
				j.endObject()
				j.key("bytes")
				j.beginObject()
				j.kStr("id", "bytes")
				j.kStr("label", "Approximate Size")
				j.kInt("value", rows*112)
				j.kBool("include", true)
				j.kStr("description", "Approximate size of the table as reported by Snowflake")
				j.endObject()
			}
			j.key("has_stats")
			j.beginObject()
			j.kStr("id", "has_stats")
			j.kStr("label", "Has Stats?")
			j.kBool("value", g.cfg.Adapter == "snowflake" && n.materialized != "view")
			j.kBool("include", false)
			j.kStr("description", "Indicates whether there are statistics for this table")
			j.endObject()
			j.endObject()
			j.kStr("unique_id", n.uniqueID)
			j.endObject()
		}
		j.endObject()
	}
	j.kNull("errors")
	j.endObject()
}

func (g *generator) writeRunResults(j *jsonWriter, spec *runSpec, inv string, res []nodeResult, which string) {
	st := spec.state
	j.beginObject()
	g.metadata(j, spec, RunResultsSchema, inv, false)
	j.key("results")
	j.beginArray()
	var elapsed int64
	for _, r := range res {
		elapsed = max(elapsed, r.completed().Sub(spec.run.StartedAt).Microseconds())
		j.beginObject()
		j.kStr("status", r.status)
		j.key("timing")
		j.beginArray()
		if r.status != "skipped" {
			j.beginObject()
			j.kStr("name", "compile")
			j.key("started_at")
			j.time(r.start.Add(-2000 * 1000))
			j.key("completed_at")
			j.time(r.start)
			j.endObject()
			if which != "generate" {
				j.beginObject()
				j.kStr("name", "execute")
				j.key("started_at")
				j.time(r.start)
				j.key("completed_at")
				j.time(r.completed())
				j.endObject()
			}
		}
		j.endArray()
		j.kStr("thread_id", fmt.Sprintf("Thread-%d (worker)", r.thread))
		j.kFloat("execution_time", r.seconds())
		j.key("adapter_response")
		if which == "generate" || r.status == "error" || r.status == "skipped" {
			j.rawS("{}")
		} else {
			j.beginObject()
			msg := r.message
			if r.node.resourceType == "test" {
				msg = "SELECT 1"
			}
			j.kStr("_message", msg)
			code := "SELECT"
			if g.cfg.Adapter == "snowflake" {
				code = "SUCCESS"
			}
			j.kStr("code", code)
			j.kInt("rows_affected", r.rows)
			if g.cfg.Adapter == "snowflake" {
				j.kStr("query_id", uuidFor(g.cfg.Seed, "q:"+r.node.uniqueID, spec.run.ID))
			}
			j.endObject()
		}
		j.kStrOrNull("message", r.message)
		j.key("failures")
		if r.node.resourceType == "test" && (r.status == "pass" || r.status == "fail" || r.status == "warn") {
			j.int(r.failures)
		} else {
			j.null()
		}
		j.kStr("unique_id", r.node.uniqueID)
		j.kBool("compiled", r.status != "skipped")
		if r.status != "skipped" {
			j.kStr("compiled_code", g.compiledCode(st, r.node))
		} else {
			j.kNull("compiled_code")
		}
		j.kStrOrNull("relation_name", g.relation(r.node))
		j.kNull("batch_results")
		j.endObject()
	}
	j.endArray()
	j.kFloat("elapsed_time", float64(elapsed)/1e6)
	j.key("args")
	j.beginObject()
	j.kStr("which", which)
	cmd := "dbt " + which
	if which == "generate" {
		cmd = "dbt docs generate"
	}
	j.kStr("invocation_command", cmd)
	j.kStr("target", "default")
	j.kStr("profiles_dir", "/tmp/jobs/"+fmt.Sprint(spec.run.ID)+"/.dbt")
	j.kStr("project_dir", "/tmp/jobs/"+fmt.Sprint(spec.run.ID)+"/target")
	j.kBool("write_json", true)
	j.kStr("log_format", "json")
	j.endObject()
	j.endObject()
}

// freshTime writes freshness timestamps with the "+00:00" offset dbt uses
// in sources.json.
func freshTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000+00:00") }

func (g *generator) writeSources(j *jsonWriter, spec *runSpec, inv string) {
	j.beginObject()
	g.metadata(j, spec, SourcesSchema, inv, false)
	j.key("results")
	j.beginArray()
	var elapsed int64
	for i, f := range g.freshness(spec) {
		elapsed = max(elapsed, f.snapshotted.Sub(spec.run.StartedAt).Microseconds())
		j.beginObject()
		j.kStr("unique_id", f.node.uniqueID)
		j.kStr("max_loaded_at", freshTime(f.maxLoaded))
		j.kStr("snapshotted_at", freshTime(f.snapshotted))
		j.kFloat("max_loaded_at_time_ago_in_s", float64(f.ageMicros)/1e6)
		j.kStr("status", f.status)
		j.key("criteria")
		j.rawS(freshnessCriteria)
		j.key("adapter_response")
		j.beginObject()
		j.kStr("_message", "SELECT 1")
		j.kStr("code", "SELECT")
		j.kInt("rows_affected", 1)
		j.endObject()
		j.key("timing")
		j.beginArray()
		j.beginObject()
		j.kStr("name", "compile")
		j.key("started_at")
		j.time(f.start)
		j.key("completed_at")
		j.time(f.start)
		j.endObject()
		j.beginObject()
		j.kStr("name", "execute")
		j.key("started_at")
		j.time(f.start)
		j.key("completed_at")
		j.time(f.snapshotted)
		j.endObject()
		j.endArray()
		j.kStr("thread_id", fmt.Sprintf("Thread-%d (worker)", 1+i%4))
		j.kFloat("execution_time", float64(f.execMicros)/1e6)
		j.endObject()
	}
	j.endArray()
	j.kFloat("elapsed_time", float64(elapsed)/1e6)
	j.endObject()
}
