package config

import "fmt"

// DevConfig is what only `dev` reads: the ports of its embedded Temporal
// server. Every port `dev` opens is configurable so several `dev`
// processes can share a machine (the API's is AQIO_HTTP_ADDR).
type DevConfig struct {
	// TemporalPort (AQIO_DEV_TEMPORAL_PORT, default 7233) is the embedded
	// frontend's gRPC port; 0 picks a free one.
	TemporalPort int
	// TemporalUIPort (AQIO_DEV_TEMPORAL_UI_PORT, default 8233) serves the
	// Web UI; 0 picks a free one, -1 turns the UI off.
	TemporalUIPort int
	// TemporalInternalPortBase (AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE,
	// default 0) fixes the server's eight internal ports (history, matching
	// and worker gRPC, four membership ports, metrics) at base..base+7;
	// 0 picks free ports at every start.
	TemporalInternalPortBase int
}

func loadDev(env Env) (DevConfig, error) {
	var d DevConfig
	var err error
	if d.TemporalPort, err = getInt(env, "AQIO_DEV_TEMPORAL_PORT", 7233); err != nil {
		return d, err
	}
	if d.TemporalPort < 0 || d.TemporalPort > 65535 {
		return d, fmt.Errorf("AQIO_DEV_TEMPORAL_PORT: %d is not a port (0-65535; 0 picks a free one)", d.TemporalPort)
	}
	if d.TemporalUIPort, err = getInt(env, "AQIO_DEV_TEMPORAL_UI_PORT", 8233); err != nil {
		return d, err
	}
	if d.TemporalUIPort < -1 || d.TemporalUIPort > 65535 {
		return d, fmt.Errorf("AQIO_DEV_TEMPORAL_UI_PORT: %d is not a port (0-65535; 0 picks a free one, -1 turns the UI off)", d.TemporalUIPort)
	}
	if d.TemporalInternalPortBase, err = getInt(env, "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE", 0); err != nil {
		return d, err
	}
	if b := d.TemporalInternalPortBase; b != 0 && (b < 1024 || b > 32760) {
		return d, fmt.Errorf("AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE: %d must be 1024-32760 (it uses 8 ports; membership ports must stay below 32768) or 0 for free ports", b)
	}
	return d, nil
}
