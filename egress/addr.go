package egress

import (
	"errors"
	"fmt"
	"net/netip"
)

// blockedRange is a range refused unless private targets are allowed.
type blockedRange struct {
	prefix netip.Prefix
	what   string
}

// blocked lists the ranges refused unless private targets are allowed.
// IPv4-mapped addresses (::ffff:a.b.c.d) are checked as the IPv4 address
// they carry. Of the IPv6 forms that embed an IPv4 address, only the NAT64
// well-known prefix 64:ff9b::/96 is allowed, and only when the IPv4 address
// it carries is allowed; IPv4-compatible, SIIT, 6to4, Teredo and local-use
// NAT64 addresses are refused whatever they embed (all are deprecated or
// network-specific, and their relays are outside our control).
var blocked = mustRanges(
	"0.0.0.0/8", "\"this\" network",
	"10.0.0.0/8", "private",
	"100.64.0.0/10", "shared address space (CGNAT)",
	"127.0.0.0/8", "loopback",
	"169.254.0.0/16", "link-local (cloud metadata)",
	"172.16.0.0/12", "private",
	"192.0.0.0/24", "IETF protocol assignments",
	"192.0.2.0/24", "documentation (TEST-NET-1)",
	"192.88.99.0/24", "6to4 relay anycast",
	"192.168.0.0/16", "private",
	"198.18.0.0/15", "benchmarking",
	"198.51.100.0/24", "documentation (TEST-NET-2)",
	"203.0.113.0/24", "documentation (TEST-NET-3)",
	"224.0.0.0/4", "multicast",
	"240.0.0.0/4", "reserved or broadcast",
	"::/128", "unspecified",
	"::1/128", "loopback",
	"::/96", "IPv4-compatible",
	"::ffff:0:0:0/96", "IPv4-translated (SIIT)",
	"64:ff9b:1::/48", "local-use NAT64",
	"100::/64", "discard-only",
	"2001::/32", "Teredo",
	"2001:2::/48", "benchmarking",
	"2001:10::/28", "ORCHID",
	"2001:db8::/32", "documentation",
	"2002::/16", "6to4",
	"3fff::/20", "documentation",
	"fc00::/7", "unique local (includes AWS metadata fd00:ec2::254)",
	"fe80::/10", "link-local",
	"fec0::/10", "site-local",
	"ff00::/8", "multicast",
)

func mustRanges(ss ...string) []blockedRange {
	out := make([]blockedRange, 0, len(ss)/2)
	for i := 0; i < len(ss); i += 2 {
		out = append(out, blockedRange{prefix: netip.MustParsePrefix(ss[i]), what: ss[i+1]})
	}
	return out
}

var (
	nat64      = netip.MustParsePrefix("64:ff9b::/96")
	compatible = netip.MustParsePrefix("::/96")
	sixToFour  = netip.MustParsePrefix("2002::/16")
	teredo     = netip.MustParsePrefix("2001::/32")
)

// EmbeddedIPv4 returns the IPv4 address an IPv6 address carries: the last
// 32 bits of NAT64 (64:ff9b::/96) and IPv4-compatible (::/96) addresses,
// bits 16-47 of 6to4 (2002::/16), the Teredo client address (the last 32
// bits inverted) of 2001::/32, and the address of an IPv4-mapped one.
func EmbeddedIPv4(ip netip.Addr) (netip.Addr, bool) {
	ip = ip.WithZone("")
	if ip.Is4In6() {
		return ip.Unmap(), true
	}
	if !ip.Is6() {
		return netip.Addr{}, false
	}
	b := ip.As16()
	switch {
	case nat64.Contains(ip), compatible.Contains(ip):
		return netip.AddrFrom4([4]byte{b[12], b[13], b[14], b[15]}), true
	case sixToFour.Contains(ip):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]}), true
	case teredo.Contains(ip):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]}), true
	}
	return netip.Addr{}, false
}

// Check says why ip may not be dialled when private targets are refused,
// or returns nil. A zone (fe80::1%eth0) is stripped before the range
// checks, and an address with a zone is refused in any case: a zone names
// a local interface, which no public endpoint needs.
func Check(ip netip.Addr) error {
	if !ip.IsValid() {
		return errors.New("not a valid IP address")
	}
	zone := ip.Zone()
	a := ip.WithZone("")
	if a.Is4In6() {
		v4 := a.Unmap()
		if err := Check(v4); err != nil {
			return fmt.Errorf("%s is IPv4-mapped: %w", a, err)
		}
		a = v4
	}
	for _, r := range blocked {
		if r.prefix.Contains(a) {
			if v4, ok := EmbeddedIPv4(a); ok && (r.prefix == compatible || r.prefix == sixToFour || r.prefix == teredo) {
				return fmt.Errorf("%s is %s (embeds %s)", a, r.what, v4)
			}
			return fmt.Errorf("%s is %s", a, r.what)
		}
	}
	if nat64.Contains(a) {
		v4, _ := EmbeddedIPv4(a)
		if err := Check(v4); err != nil {
			return fmt.Errorf("%s is NAT64 of a refused address: %w", a, err)
		}
	}
	if !a.IsGlobalUnicast() {
		return fmt.Errorf("%s is not a global unicast address", a)
	}
	if zone != "" {
		return fmt.Errorf("%s has an IPv6 zone (%%%s)", ip, zone)
	}
	return nil
}

// Allowed reports whether ip may be dialled when private targets are refused.
func Allowed(ip netip.Addr) bool { return Check(ip) == nil }
