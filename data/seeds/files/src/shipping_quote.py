"""Quote shipping for a cart total, mirroring the rates in config/shipping.yaml.

Usage: python src/shipping_quote.py <cart_total> [method]
Author: Daniel Brandt, 2025-02-20.
"""

import sys

FREE_SHIPPING_THRESHOLD = 60.00
RATES = {"pickup": 0.00, "standard": 6.95, "expedited": 18.50, "international": 24.00}
SALES_TAX_RATE = 0.055  # Maine


def quote(cart_total: float, method: str = "standard") -> dict[str, float]:
    if method not in RATES:
        raise ValueError(f"unknown shipping method {method!r}; choose from {sorted(RATES)}")
    shipping = RATES[method]
    if method == "standard" and cart_total >= FREE_SHIPPING_THRESHOLD:
        shipping = 0.0
    tax = round(cart_total * SALES_TAX_RATE, 2)
    return {"subtotal": cart_total, "shipping": shipping, "tax": tax,
            "total": round(cart_total + shipping + tax, 2)}


if __name__ == "__main__":
    total = float(sys.argv[1])
    method = sys.argv[2] if len(sys.argv) > 2 else "standard"
    for key, value in quote(total, method).items():
        print(f"{key:>9}: ${value:,.2f}")
