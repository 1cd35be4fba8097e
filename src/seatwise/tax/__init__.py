"""The vendor\x27s legal profile and the VAT it charges (R22, R24)."""
