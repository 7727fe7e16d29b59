package catalog

import (
	"fmt"
	"hash/fnv"
)

// CoreScope returns the scope for dbt Core artifacts loaded from disk. dbt
// Core has no account, project or environment IDs, so the account is 0 and
// the IDs are stable positive numbers derived from the names: the same names
// always give the same IDs, and different names give different environments.
func CoreScope(projectName, environmentName string) Scope {
	return Scope{
		AccountID:       0,
		ProjectID:       nameID("project\x00" + projectName),
		EnvironmentID:   nameID("environment\x00" + projectName + "\x00" + environmentName),
		ProjectName:     projectName,
		EnvironmentName: environmentName,
		EnvironmentType: "core",
	}
}

func nameID(s string) int64 {
	h := fnv.New64a()
	h.Write([]byte(s))
	return int64(h.Sum64() & (1<<62 - 1))
}

// QualifiedName returns the stable, globally unique name of a dbt node in an
// environment: "dbt/<account>/<project>/<environment>/<unique_id>". It is the
// key downstream tools use; it never changes while the node keeps its
// unique_id, and two environments of one project give different names.
func QualifiedName(s Scope, uniqueID string) string {
	return fmt.Sprintf("dbt/%d/%d/%d/%s", s.AccountID, s.ProjectID, s.EnvironmentID, uniqueID)
}
