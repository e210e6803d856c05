// Module KofuServer.
