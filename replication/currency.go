package replication

// currencies is the ISO 4217 list of active codes this command format
// version accepts. It is part of the format: every replica must judge a
// Charge identically, so a change to this list needs a new command version
// (see DESIGN.md).
var currencies = func() map[string]struct{} {
	const list = "AED AFN ALL AMD ANG AOA ARS AUD AWG AZN BAM BBD BDT BGN BHD BIF BMD BND BOB " +
		"BRL BSD BTN BWP BYN BZD CAD CDF CHF CLP CNY COP CRC CUP CVE CZK DJF DKK DOP DZD EGP " +
		"ERN ETB EUR FJD FKP GBP GEL GHS GIP GMD GNF GTQ GYD HKD HNL HTG HUF IDR ILS INR IQD " +
		"IRR ISK JMD JOD JPY KES KGS KHR KMF KPW KRW KWD KYD KZT LAK LBP LKR LRD LSL LYD MAD " +
		"MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MYR MZN NAD NGN NIO NOK NPR NZD OMR PAB " +
		"PEN PGK PHP PKR PLN PYG QAR RON RSD RUB RWF SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD " +
		"SSP STN SVC SYP SZL THB TJS TMT TND TOP TRY TTD TWD TZS UAH UGX USD UYU UZS VES VND " +
		"VUV WST XAF XCD XCG XOF XPF YER ZAR ZMW ZWG"
	m := make(map[string]struct{}, 170)
	for i := 0; i+3 <= len(list); i += 4 {
		m[list[i:i+3]] = struct{}{}
	}
	return m
}()

// KnownCurrency reports whether code is an ISO 4217 code accepted in a
// Charge.
func KnownCurrency(code string) bool {
	_, ok := currencies[code]
	return ok
}
