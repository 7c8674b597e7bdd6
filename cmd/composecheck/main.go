// Command composecheck validates the structure of docker-compose.yml where
// no Docker engine is available: the services the deployment needs exist,
// the app services are built from the Dockerfile with the right commands,
// start order is declared, and every app service gets the settings it
// cannot run without.
package main

import (
	"fmt"
	"os"
	"path"
	"slices"
	"strings"

	"gopkg.in/yaml.v3"
)

type compose struct {
	Services map[string]service `yaml:"services"`
	Volumes  map[string]any     `yaml:"volumes"`
}

type service struct {
	Image       string            `yaml:"image"`
	Build       any               `yaml:"build"`
	Command     []string          `yaml:"command"`
	Environment map[string]string `yaml:"environment"`
	DependsOn   map[string]struct {
		Condition string `yaml:"condition"`
	} `yaml:"depends_on"`
	Ports   []string `yaml:"ports"`
	Volumes []string `yaml:"volumes"`
}

func main() {
	path := "docker-compose.yml"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	if errs := check(path); len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintln(os.Stderr, "docker-compose:", e)
		}
		os.Exit(1)
	}
	fmt.Println("docker-compose.yml: structure ok")
}

func check(path string) []string {
	raw, err := os.ReadFile(path)
	if err != nil {
		return []string{err.Error()}
	}
	var c compose
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return []string{"parse: " + err.Error()}
	}
	var errs []string
	need := func(cond bool, format string, args ...any) {
		if !cond {
			errs = append(errs, fmt.Sprintf(format, args...))
		}
	}
	for _, name := range []string{"postgres", "temporal", "temporal-ui", "migrate", "api", "worker"} {
		_, ok := c.Services[name]
		need(ok, "service %q is missing", name)
	}
	if len(errs) > 0 {
		return errs
	}
	need(c.Services["temporal"].DependsOn["postgres"].Condition == "service_healthy", "temporal must wait for a healthy postgres")
	need(c.Services["temporal"].Environment["DB"] != "", "temporal must be backed by postgres (DB setting)")
	need(c.Services["temporal-ui"].Environment["TEMPORAL_ADDRESS"] != "", "temporal-ui needs TEMPORAL_ADDRESS")
	errs = append(errs, checkDynamicConfig(c.Services["temporal"])...)
	for name, cmd := range map[string]string{"migrate": "migrate", "api": "api", "worker": "worker"} {
		s := c.Services[name]
		need(s.Build != nil, "%s must be built from the Dockerfile", name)
		need(slices.Equal(s.Command, []string{cmd}), "%s must run %q, has %v", name, cmd, s.Command)
		for _, env := range []string{"DATABASE_URL", "TEMPORAL_ADDRESS", "AQIO_ENCRYPTION_KEYS"} {
			need(s.Environment[env] != "", "%s lacks %s", name, env)
		}
	}
	for _, name := range []string{"api", "worker"} {
		need(c.Services[name].DependsOn["migrate"].Condition == "service_completed_successfully", "%s must start after migrate completes", name)
		need(c.Services[name].Environment["AQIO_ALLOW_PRIVATE_TARGETS"] == "false", "%s must refuse private targets", name)
	}
	need(c.Services["api"].Environment["AQIO_SERVICE_TOKEN"] != "", "api lacks AQIO_SERVICE_TOKEN")
	need(len(c.Services["api"].Ports) > 0, "api publishes no port")
	if _, err := os.Stat("Dockerfile"); err != nil {
		errs = append(errs, "Dockerfile is missing")
	}
	return errs
}

// checkDynamicConfig: the temporal service runs with the dynamic config
// file the embedded server uses (devtemporal/dynamicconfig.yaml), mounted
// where DYNAMIC_CONFIG_FILE_PATH (relative to /etc/temporal) points.
func checkDynamicConfig(s service) []string {
	const file = "devtemporal/dynamicconfig.yaml"
	rel := s.Environment["DYNAMIC_CONFIG_FILE_PATH"]
	if rel == "" {
		return []string{"temporal must set DYNAMIC_CONFIG_FILE_PATH to " + file + " mounted into the container"}
	}
	target := path.Join("/etc/temporal", rel)
	for _, v := range s.Volumes {
		parts := strings.Split(v, ":")
		if len(parts) >= 2 && path.Clean(strings.TrimPrefix(parts[0], "./")) == file && parts[1] == target {
			if _, err := os.Stat(file); err != nil {
				return []string{"temporal mounts " + file + ": " + err.Error()}
			}
			return nil
		}
	}
	return []string{fmt.Sprintf("temporal must mount ./%s at %s (its DYNAMIC_CONFIG_FILE_PATH)", file, target)}
}
