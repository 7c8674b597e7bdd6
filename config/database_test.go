package config

import (
	"strings"
	"testing"
	"time"
)

func envFromMap(m map[string]string) Env {
	return func(k string) (string, bool) { v, ok := m[k]; return v, ok }
}

func TestDBPool(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    DBPoolConfig
		wantErr string
	}{
		{name: "defaults", env: nil,
			want: DBPoolConfig{MaxOpenConns: 25, MaxIdleConns: 25, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}},
		{name: "idle follows open", env: map[string]string{"AQIO_DB_MAX_OPEN_CONNS": "10"},
			want: DBPoolConfig{MaxOpenConns: 10, MaxIdleConns: 10, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}},
		{name: "all set", env: map[string]string{
			"AQIO_DB_MAX_OPEN_CONNS": "12", "AQIO_DB_MAX_IDLE_CONNS": "4",
			"AQIO_DB_CONN_MAX_LIFETIME": "1h", "AQIO_DB_CONN_MAX_IDLE_TIME": "0",
		}, want: DBPoolConfig{MaxOpenConns: 12, MaxIdleConns: 4, ConnMaxLifetime: time.Hour, ConnMaxIdleTime: 0}},
		{name: "zero idle keeps none", env: map[string]string{"AQIO_DB_MAX_IDLE_CONNS": "0"},
			want: DBPoolConfig{MaxOpenConns: 25, MaxIdleConns: 0, ConnMaxLifetime: 30 * time.Minute, ConnMaxIdleTime: 5 * time.Minute}},
		{name: "open not a number", env: map[string]string{"AQIO_DB_MAX_OPEN_CONNS": "many"}, wantErr: "AQIO_DB_MAX_OPEN_CONNS"},
		{name: "open zero", env: map[string]string{"AQIO_DB_MAX_OPEN_CONNS": "0"}, wantErr: "AQIO_DB_MAX_OPEN_CONNS: 0 must be at least 1"},
		{name: "idle above open", env: map[string]string{"AQIO_DB_MAX_OPEN_CONNS": "5", "AQIO_DB_MAX_IDLE_CONNS": "6"}, wantErr: "AQIO_DB_MAX_IDLE_CONNS: 6 is more than AQIO_DB_MAX_OPEN_CONNS (5)"},
		{name: "idle negative", env: map[string]string{"AQIO_DB_MAX_IDLE_CONNS": "-1"}, wantErr: "AQIO_DB_MAX_IDLE_CONNS"},
		{name: "lifetime bad", env: map[string]string{"AQIO_DB_CONN_MAX_LIFETIME": "soon"}, wantErr: "AQIO_DB_CONN_MAX_LIFETIME"},
		{name: "lifetime negative", env: map[string]string{"AQIO_DB_CONN_MAX_LIFETIME": "-1m"}, wantErr: "AQIO_DB_CONN_MAX_LIFETIME"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(envFromMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.DBPool != tc.want {
				t.Fatalf("DBPool = %+v, want %+v", c.DBPool, tc.want)
			}
		})
	}
}

func TestDevPorts(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    DevConfig
		wantErr string
	}{
		{name: "defaults", want: DevConfig{TemporalPort: 7233, TemporalUIPort: 8233}},
		{name: "all set", env: map[string]string{
			"AQIO_DEV_TEMPORAL_PORT": "17233", "AQIO_DEV_TEMPORAL_UI_PORT": "18233", "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE": "21000",
		}, want: DevConfig{TemporalPort: 17233, TemporalUIPort: 18233, TemporalInternalPortBase: 21000}},
		{name: "free ports and no UI", env: map[string]string{"AQIO_DEV_TEMPORAL_PORT": "0", "AQIO_DEV_TEMPORAL_UI_PORT": "-1"},
			want: DevConfig{TemporalPort: 0, TemporalUIPort: -1}},
		{name: "port too large", env: map[string]string{"AQIO_DEV_TEMPORAL_PORT": "70000"}, wantErr: "AQIO_DEV_TEMPORAL_PORT: 70000 is not a port"},
		{name: "port not a number", env: map[string]string{"AQIO_DEV_TEMPORAL_PORT": "x"}, wantErr: "AQIO_DEV_TEMPORAL_PORT"},
		{name: "ui port negative", env: map[string]string{"AQIO_DEV_TEMPORAL_UI_PORT": "-2"}, wantErr: "AQIO_DEV_TEMPORAL_UI_PORT: -2 is not a port"},
		{name: "internal base above smallint", env: map[string]string{"AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE": "40000"}, wantErr: "AQIO_DEV_TEMPORAL_INTERNAL_PORT_BASE: 40000 must be 1024-32760"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c, err := Load(envFromMap(tc.env))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want it to contain %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Dev != tc.want {
				t.Fatalf("Dev = %+v, want %+v", c.Dev, tc.want)
			}
		})
	}
}
