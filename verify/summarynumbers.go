package verify

import (
	"errors"
	"strconv"
)

// errNumberRange means a JSON value holds a number encoding/json cannot
// read (out of a float64's range): the whole document would fail to
// decode, so a part of it must not be evaluated either.
var errNumberRange = errors.New("a number out of range")

// numbersFit reports whether every number in the JSON value raw (valid
// JSON, as a json.Decoder returned it) fits a float64, as json.Unmarshal
// into an interface requires. It checks what summarize leaves undecoded.
func numbersFit(raw []byte) bool {
	inString := false
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		switch {
		case inString && c == '\\':
			i++
		case c == '"':
			inString = !inString
		case !inString && (c == '-' || c >= '0' && c <= '9'):
			j := i + 1
			for j < len(raw) && isNumberByte(raw[j]) {
				j++
			}
			if !numberFits(raw[i:j]) {
				return false
			}
			i = j - 1
		}
	}
	return true
}

func isNumberByte(c byte) bool {
	return c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-'
}

// numberFits: a short plain number always fits; others are parsed.
func numberFits(n []byte) bool {
	if len(n) < 300 {
		plain := true
		for _, c := range n {
			if c == 'e' || c == 'E' {
				plain = false
				break
			}
		}
		if plain {
			return true
		}
	}
	_, err := strconv.ParseFloat(string(n), 64)
	return err == nil
}
