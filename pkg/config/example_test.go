package config_test

import (
	"fmt"

	"github.com/dbt-crawler/dbt-crawler/pkg/config"
)

// A filter selects by numeric ID or name glob; exclude wins.
func ExampleFilter_Match() {
	f := config.Filter{Include: []string{"analytics*", "42"}, Exclude: []string{"*legacy*"}}
	fmt.Println(f.Match(1, "Analytics"), f.Match(42, "finance"), f.Match(2, "analytics legacy"), f.Match(3, "marketing"))
	// Output: true true false false
}
