package devtemporal

import (
	_ "embed"
	"fmt"

	"go.temporal.io/server/common/dynamicconfig"
)

// dynamicConfigYAML is the server's dynamic config: the same file
// docker-compose.yml mounts into its Temporal server.
//
//go:embed dynamicconfig.yaml
var dynamicConfigYAML []byte

// DynamicConfig is the dynamic config file parsed by the Temporal
// server's own loader (the one a file-configured server uses), so the
// embedded server and a deployed one read the same settings the same way.
func DynamicConfig() (dynamicconfig.StaticClient, error) {
	return parseDynamicConfig(dynamicConfigYAML)
}

func parseDynamicConfig(raw []byte) (dynamicconfig.StaticClient, error) {
	lr := dynamicconfig.LoadYamlFile(raw)
	if err := lr.Err(); err != nil {
		return nil, fmt.Errorf("dynamic config: %w", err)
	}
	out := dynamicconfig.StaticClient{}
	for key, values := range lr.Map {
		out[key] = values
	}
	return out, nil
}
