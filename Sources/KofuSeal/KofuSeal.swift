// Module KofuSeal.
