package apikeys

import (
	"fmt"
	"net/netip"
)

// ParseAllowedIPs parses CIDR ranges (IPv4 or IPv6; a bare address means
// that one address) into canonical prefixes.
func ParseAllowedIPs(in []string) ([]netip.Prefix, error) {
	out := make([]netip.Prefix, 0, len(in))
	for i, s := range in {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			a, aerr := netip.ParseAddr(s)
			if aerr != nil {
				return nil, &IPError{Index: i, Value: s}
			}
			a = a.Unmap()
			p = netip.PrefixFrom(a, a.BitLen())
		}
		if p.Addr().Is4In6() {
			p = netip.PrefixFrom(p.Addr().Unmap(), p.Bits()-96)
		}
		out = append(out, p.Masked())
	}
	return out, nil
}

// IPAllowed reports whether addr falls in one of the ranges; an empty list
// allows every address.
func IPAllowed(ranges []netip.Prefix, addr netip.Addr) bool {
	if len(ranges) == 0 {
		return true
	}
	addr = addr.Unmap()
	for _, p := range ranges {
		if p.Contains(addr) {
			return true
		}
	}
	return false
}

// IPError names an allowed_ips entry that is not a CIDR range or address.
type IPError struct {
	Index int
	Value string
}

func (e *IPError) Error() string {
	return fmt.Sprintf("allowed_ips[%d] %q is not an IPv4/IPv6 address or CIDR range", e.Index, e.Value)
}
