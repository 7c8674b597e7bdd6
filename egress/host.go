package egress

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"golang.org/x/net/idna"
)

// hostProfile maps a host name the way browsers do before they look at it
// (UTS #46: case folding, full-width digits and dots to ASCII), without
// refusing names DNS allows but STD3 does not (underscores).
var hostProfile = idna.New(idna.MapForLookup(), idna.StrictDomainName(false), idna.BidiRule(), idna.Transitional(false))

// asciiHost lowercases host and, when it is not ASCII, maps it to its
// ASCII form, so "ＬＯＣＡＬＨＯＳＴ" and "１２７.０.０.１" are seen as what they mean.
func asciiHost(host string) (string, error) {
	for i := 0; i < len(host); i++ {
		if host[i] >= 0x80 {
			a, err := hostProfile.ToASCII(host)
			if err != nil {
				return "", fmt.Errorf("%q is not a valid host name", host)
			}
			return strings.ToLower(a), nil
		}
	}
	return strings.ToLower(host), nil
}

// NumericHost interprets a URL host (without brackets) as browsers and
// curl do, following the WHATWG URL host parser: an IPv6 literal (a zone
// is kept), or an IPv4 address in any spelling the IPv4 parser accepts:
// 1 to 4 dot-separated parts, each decimal, octal (leading 0) or hex
// (leading 0x), the last filling the remaining bytes — "127.1",
// "2130706433", "0x7f000001", "0177.0.0.1", "0x7f.1" all mean 127.0.0.1.
// numeric is false for a host name. A host whose last label is a number
// but which is no valid IPv4 address ("256.0.0.1", "1.2.3.4.5", "08") is
// an error, as browsers refuse such URLs.
func NumericHost(host string) (addr netip.Addr, numeric bool, err error) {
	if strings.Contains(host, ":") {
		a, err := netip.ParseAddr(host)
		if err != nil || !a.Is6() {
			return netip.Addr{}, true, fmt.Errorf("%q is not a valid IPv6 address", host)
		}
		return a, true, nil
	}
	h, err := asciiHost(host)
	if err != nil {
		return netip.Addr{}, false, err
	}
	if !endsInNumber(h) {
		return netip.Addr{}, false, nil
	}
	a, err := parseIPv4(h)
	if err != nil {
		return netip.Addr{}, true, fmt.Errorf("%q is not a valid IPv4 address: %w", host, err)
	}
	return a, true, nil
}

// hostParts splits on dots and drops one trailing empty part ("127.0.0.1.").
func hostParts(h string) []string {
	parts := strings.Split(h, ".")
	if len(parts) > 1 && parts[len(parts)-1] == "" {
		parts = parts[:len(parts)-1]
	}
	return parts
}

// endsInNumber is the WHATWG "ends in a number" checker.
func endsInNumber(h string) bool {
	parts := strings.Split(h, ".")
	if parts[len(parts)-1] == "" {
		if len(parts) == 1 {
			return false
		}
		parts = parts[:len(parts)-1]
	}
	last := parts[len(parts)-1]
	if last != "" && strings.Trim(last, "0123456789") == "" {
		return true
	}
	_, err := parseIPv4Number(last)
	return err == nil || errors.Is(err, errTooLarge)
}

// parseIPv4 is the WHATWG IPv4 parser.
func parseIPv4(h string) (netip.Addr, error) {
	parts := hostParts(h)
	if len(parts) > 4 {
		return netip.Addr{}, errors.New("more than four parts")
	}
	nums := make([]uint64, len(parts))
	for i, p := range parts {
		n, err := parseIPv4Number(p)
		if err != nil {
			return netip.Addr{}, fmt.Errorf("part %q: %w", p, err)
		}
		if i < len(parts)-1 && n > 255 {
			return netip.Addr{}, fmt.Errorf("part %q is more than 255", p)
		}
		nums[i] = n
	}
	last := nums[len(nums)-1]
	if last >= 1<<(8*(5-len(nums))) {
		return netip.Addr{}, fmt.Errorf("last part %q is too large", parts[len(parts)-1])
	}
	v := last
	for i, n := range nums[:len(nums)-1] {
		v += n << (8 * (3 - i))
	}
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)}), nil
}

var errTooLarge = errors.New("too large")

// parseIPv4Number is the WHATWG IPv4 number parser: "0x" prefix hex,
// leading "0" octal, else decimal; "0x" alone is 0.
func parseIPv4Number(s string) (uint64, error) {
	if s == "" {
		return 0, errors.New("empty")
	}
	base := 10
	switch {
	case len(s) >= 2 && (s[:2] == "0x" || s[:2] == "0X"):
		s, base = s[2:], 16
	case len(s) >= 2 && s[0] == '0':
		s, base = s[1:], 8
	}
	if s == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(s, base, 64)
	if err != nil {
		var ne *strconv.NumError
		if errors.As(err, &ne) && errors.Is(ne.Err, strconv.ErrRange) {
			return 0, errTooLarge
		}
		return 0, fmt.Errorf("not a base-%d number", base)
	}
	return n, nil
}
