"""Settings sections that sit at the bottom of the house: plain typed models that import nothing above them."""
