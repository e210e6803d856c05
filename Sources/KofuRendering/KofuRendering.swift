// Module KofuRendering.
