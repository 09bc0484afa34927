import assert from 'node:assert/strict';
import { access, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { repoRoot } from '../helpers/cli.js';
import { readUnit, unitCommandArguments } from '../helpers/units.js';

const USB_UNIT = 'fioup-offline-usb@.service';
const FINISH_UNIT = 'fioup-offline-finish.service';
/** Unit dependencies under which stopping or restarting docker.service stops or restarts the dependent unit. */
const STOPPED_WITH = ['Requires', 'BindsTo', 'PartOf', 'Requisite', 'Upholds'];

describe('the udev rule and the systemd units of the USB auto-install', () => {
  test('the udev rule tags an added USB filesystem for systemd and wants the USB unit for it', async () => {
    const rules = (await readFile(join(repoRoot, 'packaging/udev/90-fioup-offline-usb.rules'), 'utf8')).split('\n').filter((line) => line && !line.startsWith('#'));
    assert.equal(rules.length, 1);
    const rule = rules[0]!;
    for (const match of ['ACTION=="add"', 'SUBSYSTEM=="block"', 'ENV{ID_BUS}=="usb"', 'ENV{ID_FS_USAGE}=="filesystem"', 'TAG+="systemd"']) assert.ok(rule.includes(match), match);
    const wanted = /ENV\{SYSTEMD_WANTS\}\+="([^"]+)"/.exec(rule)?.[1];
    assert.equal(wanted, 'fioup-offline-usb@%k.service');
    await access(join(repoRoot, 'packaging/systemd', wanted!.replace('%k', '')));
  });

  for (const name of [USB_UNIT, FINISH_UNIT]) {
    test(`${name}: never alongside aktualizr-lite or fioup, and a docker restart does not stop it`, async () => {
      const unit = await readUnit(name);
      const conflicts = (unit.get('Unit.Conflicts') ?? []).flatMap((value) => value.split(/\s+/));
      assert.ok(conflicts.includes('aktualizr-lite.service') && conflicts.includes('fioup.service'), conflicts.join(' '));
      for (const dependency of STOPPED_WITH) {
        const units = (unit.get(`Unit.${dependency}`) ?? []).flatMap((value) => value.split(/\s+/));
        assert.ok(!units.includes('docker.service'), `${dependency}=docker.service`);
      }
      assert.ok((unit.get('Unit.Wants') ?? []).some((value) => value.split(/\s+/).includes('docker.service')));
      assert.ok((unit.get('Unit.After') ?? []).some((value) => value.split(/\s+/).includes('docker.service')));
      assert.deepEqual(unit.get('Service.Type'), ['oneshot']);
      assert.deepEqual(unit.get('Service.SyslogIdentifier'), ['fioup-offline'], 'its output goes to the journal under one name');
    });
  }

  test('the USB unit mounts the partition, runs one fioup-offline command on it and unmounts it; it runs after the finish unit', async () => {
    const unit = await readUnit(USB_UNIT);
    const mountPoint = '/run/fioup-offline/usb/%i';
    assert.ok((unit.get('Service.ExecStartPre') ?? []).some((line) => line.startsWith('/bin/mount ') && line.endsWith(`/dev/%i ${mountPoint}`)));
    assert.deepEqual(unit.get('Service.ExecStart'), [`/usr/bin/fioup-offline auto --src-dir ${mountPoint}`]);
    assert.ok((unit.get('Service.ExecStopPost') ?? []).some((line) => line.includes(`umount ${mountPoint}`)));
    assert.ok((unit.get('Unit.After') ?? []).some((value) => value.split(/\s+/).includes(FINISH_UNIT)));
    assert.deepEqual(await unitCommandArguments(USB_UNIT, 'sdb1'), ['auto', '--src-dir', '/run/fioup-offline/usb/sdb1']);
  });

  test('the finish unit runs at boot and finishes only what auto scheduled', async () => {
    const unit = await readUnit(FINISH_UNIT);
    assert.deepEqual(await unitCommandArguments(FINISH_UNIT), ['auto', '--after-reboot']);
    assert.deepEqual(unit.get('Install.WantedBy'), ['multi-user.target']);
  });
});
