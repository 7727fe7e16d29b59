package deploy

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"sigs.k8s.io/kustomize/api/krusty"
	"sigs.k8s.io/kustomize/api/types"
	"sigs.k8s.io/kustomize/kyaml/filesys"
	"sigs.k8s.io/yaml"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

const kubernetesDir = "kubernetes"

// serviceMonitor is the part of the Prometheus Operator's ServiceMonitor
// that the manifests use; unknown fields are refused like the typed
// Kubernetes objects.
type serviceMonitor struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Selector  metav1.LabelSelector `json:"selector"`
		Endpoints []struct {
			Port          string `json:"port"`
			Path          string `json:"path"`
			Interval      string `json:"interval"`
			ScrapeTimeout string `json:"scrapeTimeout"`
		} `json:"endpoints"`
	} `json:"spec"`
}

// prometheusRule is the part of the Prometheus Operator's PrometheusRule
// that the manifests use.
type prometheusRule struct {
	metav1.TypeMeta   `json:",inline"`
	metav1.ObjectMeta `json:"metadata"`
	Spec              struct {
		Groups []struct {
			Name  string `json:"name"`
			Rules []struct {
				Alert       string            `json:"alert"`
				Expr        string            `json:"expr"`
				For         string            `json:"for,omitempty"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"rules"`
		} `json:"groups"`
	} `json:"spec"`
}

// kinds maps "apiVersion kind" to a new typed object of that kind.
var kinds = map[string]func() any{
	"v1 Namespace":                            func() any { return &corev1.Namespace{} },
	"v1 ServiceAccount":                       func() any { return &corev1.ServiceAccount{} },
	"v1 Secret":                               func() any { return &corev1.Secret{} },
	"v1 ConfigMap":                            func() any { return &corev1.ConfigMap{} },
	"v1 Service":                              func() any { return &corev1.Service{} },
	"apps/v1 Deployment":                      func() any { return &appsv1.Deployment{} },
	"batch/v1 CronJob":                        func() any { return &batchv1.CronJob{} },
	"policy/v1 PodDisruptionBudget":           func() any { return &policyv1.PodDisruptionBudget{} },
	"monitoring.coreos.com/v1 ServiceMonitor": func() any { return &serviceMonitor{} },
	"monitoring.coreos.com/v1 PrometheusRule": func() any { return &prometheusRule{} },
}

// decodeStrict decodes one manifest into the typed object its apiVersion
// and kind name, refusing unknown and duplicate fields.
func decodeStrict(doc []byte) (any, error) {
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(doc, &tm); err != nil {
		return nil, err
	}
	mk, ok := kinds[tm.APIVersion+" "+tm.Kind]
	if !ok {
		return nil, fmt.Errorf("apiVersion %q kind %q is not one the tests know: add it to kinds", tm.APIVersion, tm.Kind)
	}
	obj := mk()
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, fmt.Errorf("%s: %w", tm.Kind, err)
	}
	return obj, nil
}

// kustomizationDirs returns every directory under deploy/kubernetes that
// holds a kustomization.yaml.
func kustomizationDirs(t *testing.T) []string {
	t.Helper()
	var dirs []string
	require.NoError(t, filepath.WalkDir(kubernetesDir, func(path string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() && d.Name() == "kustomization.yaml" {
			dirs = append(dirs, filepath.Dir(path))
		}
		return err
	}))
	require.NotEmpty(t, dirs)
	return dirs
}

func readKustomization(t *testing.T, dir string) *types.Kustomization {
	t.Helper()
	var k types.Kustomization
	require.NoError(t, yaml.UnmarshalStrict(readFile(t, filepath.Join(dir, "kustomization.yaml")), &k), dir)
	return &k
}

// generatorFiles returns the files that configMapGenerator and
// secretGenerator entries of a kustomization read, relative to dir.
func generatorFiles(k *types.Kustomization) []string {
	var out []string
	add := func(args types.GeneratorArgs) {
		for _, src := range args.FileSources {
			if _, path, ok := strings.Cut(src, "="); ok {
				src = path
			}
			out = append(out, src)
		}
		out = append(out, args.EnvSources...)
	}
	for _, g := range k.ConfigMapGenerator {
		add(g.GeneratorArgs)
	}
	for _, g := range k.SecretGenerator {
		add(g.GeneratorArgs)
	}
	return out
}

func TestKustomizationsReferenceExistingFiles(t *testing.T) {
	for _, dir := range kustomizationDirs(t) {
		t.Run(dir, func(t *testing.T) {
			k := readKustomization(t, dir)
			require.Contains(t, []string{"Kustomization", "Component"}, k.Kind)
			refs := append(append([]string{}, k.Resources...), k.Components...)
			for _, p := range k.Patches {
				if p.Path != "" {
					refs = append(refs, p.Path)
				} else {
					require.NotEmpty(t, p.Patch, "a patch has neither path nor patch")
				}
			}
			refs = append(refs, generatorFiles(k)...)
			for _, ref := range refs {
				_, err := os.Stat(filepath.Join(dir, ref))
				require.NoError(t, err, "%s/kustomization.yaml references %s", dir, ref)
			}
		})
	}
}

func TestManifestsDecodeStrictly(t *testing.T) {
	// Files that kustomize reads as data, not as manifests.
	data := map[string]bool{}
	for _, dir := range kustomizationDirs(t) {
		data[filepath.Join(dir, "kustomization.yaml")] = true
		for _, f := range generatorFiles(readKustomization(t, dir)) {
			data[filepath.Join(dir, f)] = true
		}
	}
	n := 0
	require.NoError(t, filepath.WalkDir(kubernetesDir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || data[path] {
			return err
		}
		require.True(t, strings.HasSuffix(path, ".yaml"), "%s: manifests are named *.yaml", path)
		t.Run(path, func(t *testing.T) {
			docs := splitDocuments(t, readFile(t, path))
			require.NotEmpty(t, docs)
			for _, doc := range docs {
				_, err := decodeStrict(doc)
				require.NoError(t, err)
				n++
			}
		})
		return nil
	}))
	require.Positive(t, n)
}

func TestDecodeStrictRefusesUnknownFields(t *testing.T) {
	for _, tc := range []struct{ name, doc string }{
		{name: "a misspelled field", doc: "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: x}\nspec: {replica: 2}\n"},
		{name: "a field at the wrong level", doc: "apiVersion: v1\nkind: Service\nmetadata: {name: x}\nports: []\n"},
		{name: "a duplicate key", doc: "apiVersion: v1\nkind: Secret\nmetadata: {name: x}\ntype: Opaque\ntype: Opaque\n"},
		{name: "an unknown kind", doc: "apiVersion: v1\nkind: Pod\nmetadata: {name: x}\n"},
		{name: "an unknown ServiceMonitor field", doc: "apiVersion: monitoring.coreos.com/v1\nkind: ServiceMonitor\nmetadata: {name: x}\nspec: {endpoint: []}\n"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := decodeStrict([]byte(tc.doc))
			require.Error(t, err)
		})
	}
}

// build runs kustomize on dir and decodes every resource strictly.
func build(t *testing.T, dir string) []any {
	t.Helper()
	k := krusty.MakeKustomizer(krusty.MakeDefaultOptions())
	m, err := k.Run(filesys.MakeFsOnDisk(), dir)
	require.NoError(t, err, "kustomize build %s", dir)
	out, err := m.AsYaml()
	require.NoError(t, err)
	var objs []any
	for _, doc := range splitDocuments(t, out) {
		obj, err := decodeStrict(doc)
		require.NoError(t, err)
		objs = append(objs, obj)
	}
	return objs
}

// buildWithComponents builds base plus components through a temporary
// kustomization, as an overlay that enables them would.
func buildWithComponents(t *testing.T, components ...string) []any {
	t.Helper()
	dir := t.TempDir()
	// kustomize refuses absolute paths; refer to base and components
	// relative to the temporary directory.
	rel := func(p string) string {
		a, err := filepath.Abs(filepath.Join(kubernetesDir, p))
		require.NoError(t, err)
		rel, err := filepath.Rel(dir, a)
		require.NoError(t, err)
		return rel
	}
	var b strings.Builder
	fmt.Fprintf(&b, "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - %s\ncomponents:\n", rel("base"))
	for _, c := range components {
		fmt.Fprintf(&b, "  - %s\n", rel(filepath.Join("components", c)))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "kustomization.yaml"), []byte(b.String()), 0o600))
	return build(t, dir)
}

func find[T any](t *testing.T, objs []any) []*T {
	t.Helper()
	var out []*T
	for _, o := range objs {
		if v, ok := o.(*T); ok {
			out = append(out, v)
		}
	}
	return out
}

func one[T any](t *testing.T, objs []any) *T {
	t.Helper()
	all := find[T](t, objs)
	require.Len(t, all, 1, "want exactly one %T", *new(T))
	return all[0]
}

// listenPort is the port of the crawler's default listen address.
func listenPort(t *testing.T, listen string) int32 {
	t.Helper()
	_, p, err := net.SplitHostPort(listen)
	require.NoError(t, err)
	n, err := strconv.Atoi(p)
	require.NoError(t, err)
	return int32(n)
}

// checkPod asserts what every crawler pod needs: the hardened security
// context, the config mount, the Secret references and the /tmp volume.
func checkPod(t *testing.T, spec corev1.PodSpec, objs []any, args []string) corev1.Container {
	t.Helper()
	require.NotNil(t, spec.AutomountServiceAccountToken)
	require.False(t, *spec.AutomountServiceAccountToken, "the crawler needs no Kubernetes API token")
	psc := spec.SecurityContext
	require.NotNil(t, psc)
	require.True(t, *psc.RunAsNonRoot)
	require.NotZero(t, *psc.RunAsUser)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, psc.SeccompProfile.Type)
	sa := one[corev1.ServiceAccount](t, objs)
	require.Equal(t, sa.Name, spec.ServiceAccountName)

	require.Len(t, spec.Containers, 1)
	c := spec.Containers[0]
	require.Equal(t, args, c.Args)
	sc := c.SecurityContext
	require.NotNil(t, sc)
	require.False(t, *sc.AllowPrivilegeEscalation)
	require.True(t, *sc.ReadOnlyRootFilesystem)
	require.True(t, *sc.RunAsNonRoot)
	require.Equal(t, []corev1.Capability{"ALL"}, sc.Capabilities.Drop)
	require.Empty(t, sc.Capabilities.Add)
	require.Equal(t, corev1.SeccompProfileTypeRuntimeDefault, sc.SeccompProfile.Type)
	for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
		require.Contains(t, c.Resources.Requests, r)
		require.Contains(t, c.Resources.Limits, r)
	}

	volumes := map[string]corev1.Volume{}
	for _, v := range spec.Volumes {
		volumes[v.Name] = v
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range c.VolumeMounts {
		mounts[m.MountPath] = m
	}
	tmp, ok := mounts["/tmp"]
	require.True(t, ok, "/tmp is mounted (the root filesystem is read-only)")
	require.NotNil(t, volumes[tmp.Name].EmptyDir, "/tmp is an emptyDir")

	env := map[string]corev1.EnvVar{}
	for _, e := range c.Env {
		env[e.Name] = e
	}
	cfgPath := env["CRAWLER_CONFIG"].Value
	require.NotEmpty(t, cfgPath, "CRAWLER_CONFIG points at the mounted file")
	cfgMount, ok := mounts[filepath.Dir(cfgPath)]
	require.True(t, ok, "CRAWLER_CONFIG=%s is inside a mounted directory", cfgPath)
	require.True(t, cfgMount.ReadOnly)
	cmName := volumes[cfgMount.Name].ConfigMap.Name
	var cm *corev1.ConfigMap
	for _, m := range find[corev1.ConfigMap](t, objs) {
		if m.Name == cmName {
			cm = m
		}
	}
	require.NotNil(t, cm, "the config volume names the generated ConfigMap %s", cmName)
	file, ok := cm.Data[filepath.Base(cfgPath)]
	require.True(t, ok, "ConfigMap %s holds %s", cmName, filepath.Base(cfgPath))
	validateConfig(t, file)

	secrets := map[string]*corev1.Secret{}
	for _, s := range find[corev1.Secret](t, objs) {
		secrets[s.Name] = s
	}
	for _, name := range []string{"DBT_CLOUD_TOKEN", "DATABASE_URL"} {
		ref := env[name].ValueFrom
		require.NotNil(t, ref, "%s comes from a Secret", name)
		require.NotNil(t, ref.SecretKeyRef, "%s comes from a Secret", name)
		s, ok := secrets[ref.SecretKeyRef.Name]
		require.True(t, ok, "%s references Secret %s", name, ref.SecretKeyRef.Name)
		require.Contains(t, s.StringData, ref.SecretKeyRef.Key)
	}
	return c
}

// validateConfig checks a crawler.yaml the way `crawler` loads it, with
// the token supplied through the environment as the Secret does.
func validateConfig(t *testing.T, file string) {
	t.Helper()
	var strict config.Config
	require.NoError(t, config.Parse([]byte(file), &strict), "crawler.yaml has only known keys")
	for _, c := range strict.Connections {
		require.Empty(t, c.Token)
		require.Equal(t, "DBT_CLOUD_TOKEN", c.TokenEnv, "connection %s reads its token from the Secret's variable", c.Name)
	}
	path := filepath.Join(t.TempDir(), "crawler.yaml")
	require.NoError(t, os.WriteFile(path, []byte(file), 0o600))
	env := map[string]string{
		"CRAWLER_CONFIG":  path,
		"DBT_CLOUD_TOKEN": "test-token",
		"DATABASE_URL":    "postgres://crawler_writer@db.example.internal:5432/catalog",
	}
	cfg, err := config.Load(config.Flags{}, func(k string) string { return env[k] })
	require.NoError(t, err)
	require.NoError(t, cfg.Validate(true))
	require.NotEmpty(t, cfg.Connections)
	require.Equal(t, config.DefaultListen, cfg.Listen, "the manifests expose the default port")
}

func TestBaseDeployment(t *testing.T) {
	objs := build(t, filepath.Join(kubernetesDir, "base"))
	d := one[appsv1.Deployment](t, objs)
	c := checkPod(t, d.Spec.Template.Spec, objs, []string{"schedule"})

	port := listenPort(t, config.DefaultListen)
	require.Len(t, c.Ports, 1)
	require.Equal(t, port, c.Ports[0].ContainerPort)
	named := intstr.FromString(c.Ports[0].Name)
	for _, tc := range []struct {
		name  string
		probe *corev1.Probe
		path  string
	}{
		{name: "liveness", probe: c.LivenessProbe, path: "/healthz"},
		{name: "startup", probe: c.StartupProbe, path: "/healthz"},
		{name: "readiness", probe: c.ReadinessProbe, path: "/readyz"},
	} {
		t.Run(tc.name+" probe asks the crawler's health endpoint", func(t *testing.T) {
			require.NotNil(t, tc.probe)
			require.NotNil(t, tc.probe.HTTPGet)
			require.Equal(t, tc.path, tc.probe.HTTPGet.Path)
			require.Equal(t, named, tc.probe.HTTPGet.Port)
		})
	}

	ann := d.Spec.Template.Annotations
	require.Equal(t, "true", ann["prometheus.io/scrape"])
	require.Equal(t, "/metrics", ann["prometheus.io/path"])
	require.Equal(t, strconv.Itoa(int(port)), ann["prometheus.io/port"])

	svc := one[corev1.Service](t, objs)
	require.Equal(t, d.Spec.Selector.MatchLabels, svc.Spec.Selector)
	require.Equal(t, named, svc.Spec.Ports[0].TargetPort)

	pdb := one[policyv1.PodDisruptionBudget](t, objs)
	require.Equal(t, d.Spec.Selector.MatchLabels, pdb.Spec.Selector.MatchLabels)
	require.Empty(t, find[batchv1.CronJob](t, objs), "the CronJob is an opt-in component")

	// The grace period covers shutdown_timeout.
	require.GreaterOrEqual(t, *d.Spec.Template.Spec.TerminationGracePeriodSeconds, int64(config.DefaultShutdownTimeout.Seconds()))
}

func TestExampleOverlay(t *testing.T) {
	objs := build(t, filepath.Join(kubernetesDir, "overlays", "example"))
	ns := one[corev1.Namespace](t, objs)
	require.Equal(t, "restricted", ns.Labels["pod-security.kubernetes.io/enforce"])
	for _, o := range objs {
		if m, ok := o.(metav1.Object); ok {
			if _, isNS := o.(*corev1.Namespace); !isNS {
				require.Equal(t, ns.Name, m.GetNamespace(), "%T %s", o, m.GetName())
			}
		}
	}
	d := one[appsv1.Deployment](t, objs)
	require.Equal(t, int32(2), *d.Spec.Replicas)
	require.NotEmpty(t, d.Spec.Template.Spec.TopologySpreadConstraints)
	c := checkPod(t, d.Spec.Template.Spec, objs, []string{"schedule"})
	require.Equal(t, "registry.example.com/data/dbt-crawler:1.0.0", c.Image)
	require.Equal(t, "4Gi", c.Resources.Limits.Memory().String())
	require.NotNil(t, c.ReadinessProbe, "the patch keeps the base probes")
}

func TestCronJobComponent(t *testing.T) {
	objs := buildWithComponents(t, "cronjob")
	require.Empty(t, find[appsv1.Deployment](t, objs), "the CronJob replaces the scheduler")
	require.Empty(t, find[corev1.Service](t, objs))
	require.Empty(t, find[policyv1.PodDisruptionBudget](t, objs))
	cj := one[batchv1.CronJob](t, objs)
	require.Equal(t, batchv1.ForbidConcurrent, cj.Spec.ConcurrencyPolicy, "two crawls never overlap")
	spec := cj.Spec.JobTemplate.Spec.Template.Spec
	require.Equal(t, corev1.RestartPolicyNever, spec.RestartPolicy)
	checkPod(t, spec, objs, []string{"run"})
	require.GreaterOrEqual(t, *cj.Spec.JobTemplate.Spec.ActiveDeadlineSeconds, int64(config.DefaultCrawlTimeout.Seconds()))
}

var metricName = regexp.MustCompile(`\bcrawler_[a-z_]+`)

func TestMonitoringComponent(t *testing.T) {
	objs := buildWithComponents(t, "monitoring")
	svc := one[corev1.Service](t, objs)
	sm := one[serviceMonitor](t, objs)
	require.Equal(t, svc.Labels["app.kubernetes.io/name"], sm.Spec.Selector.MatchLabels["app.kubernetes.io/name"])
	for k, v := range sm.Spec.Selector.MatchLabels {
		require.Equal(t, v, svc.Labels[k], "the ServiceMonitor selects the Service by %s", k)
	}
	require.Len(t, sm.Spec.Endpoints, 1)
	require.Equal(t, svc.Spec.Ports[0].Name, sm.Spec.Endpoints[0].Port)
	require.Equal(t, "/metrics", sm.Spec.Endpoints[0].Path)

	docs := string(readFile(t, filepath.Join("..", "docs", "operations.md")))
	rule := one[prometheusRule](t, objs)
	var alerts []string
	for _, g := range rule.Spec.Groups {
		for _, r := range g.Rules {
			require.NotEmpty(t, r.Alert)
			require.NotEmpty(t, r.Expr)
			require.NotEmpty(t, r.Labels["severity"])
			alerts = append(alerts, r.Alert)
			for _, m := range metricName.FindAllString(r.Expr, -1) {
				m = strings.TrimSuffix(m, "_bucket")
				require.Contains(t, docs, "`"+m+"`", "alert %s uses metric %s, which docs/operations.md must list", r.Alert, m)
			}
		}
	}
	for _, a := range alerts {
		require.Contains(t, docs, a, "docs/operations.md explains alert %s", a)
	}
	require.True(t, slices.Contains(alerts, "DbtCrawlerNoSuccessfulCrawl"))
}
