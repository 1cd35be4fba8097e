"""The billing run (R19, R20, R32): every transition, invoice and dunning step due up to a moment."""
