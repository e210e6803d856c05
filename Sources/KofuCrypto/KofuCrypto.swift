// Module KofuCrypto.
