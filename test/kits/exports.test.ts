// The kits are importable by package name, as a device or an API would import them.
import t from 'tap'

t.test('codepair/device and codepair/resource resolve to the built kits', async t => {
  const device = await import('codepair/device')
  t.type(device.DeviceClient.discover, 'function')
  t.type(device.FileTokenStore, 'function')
  t.type(device.PairingRequiredError, 'function')
  const resource = await import('codepair/resource')
  t.type(resource.createVerifier, 'function')
  t.type(resource.createCachedRemoteJwks, 'function')
  t.type(resource.codepairResource, 'function')
})
