#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# The cmdlets with a recognisable password in a PSCredential, verbose and debug output on: every stream they write
# (output, errors, warnings, verbose, debug, information), every error record, and the sandbox's files hold no trace of it,
# whether the password is right or wrong. Then the cmdlets that change things, for real, with an archive key too:
# archiving, backups, a new standby replicating with the password, a switchover, a failover and a rejoin.
# (tests/Unit/Security/SecretsAbsentTests and SecretsThroughChangesTests do the same for pgdr and process argument lists.)

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'secrets'
    $sandboxPath = Join-Path $work 'sandbox'
    $sandbox = New-PgDrSandbox -Path $sandboxPath -StandbyCount 1 -Confirm:$false
    $marker = 'PgDrPesterSecret'
    $secret = $marker + [guid]::NewGuid().ToString('N').Substring(0, 12)
    $address = "$($sandbox.Primary.Instance.Host):$($sandbox.Primary.Instance.Port)"
    $standbyAddress = "$($sandbox.Nodes[1].Instance.Host):$($sandbox.Nodes[1].Instance.Port)"
    # Roles with the recognisable password, made through psql's standard input (never an argument list).
    function New-SecretRole([string] $Role, [string] $Attributes) {
        $env:PGPASSFILE = Join-Path $sandboxPath '.pgpass'
        "CREATE ROLE $Role LOGIN $Attributes PASSWORD '$secret';" |
            & (Join-Path $sandbox.Binaries.Directory 'psql') -X -q -v ON_ERROR_STOP=1 -h $sandbox.Primary.Instance.Host -p $sandbox.Primary.Instance.Port -U postgres -d postgres -f - | Out-Null
        $LASTEXITCODE | Should -Be 0
        Remove-Item Env:PGPASSFILE
    }
    New-SecretRole pgdr_pester_admin SUPERUSER
    $cred = [pscredential]::new('pgdr_pester_admin', (ConvertTo-SecureString $secret -AsPlainText -Force))
    $wrong = [pscredential]::new('pgdr_pester_admin', (ConvertTo-SecureString ($secret + 'Wrong') -AsPlainText -Force))
    # The role reaches the standby by replay; on a busy machine the first test logged in to it before that (28P01).
    $deadline = (Get-Date).AddSeconds(60)
    while (-not (Get-PgDrNode $standbyAddress -Credential $cred -ErrorAction SilentlyContinue) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path $sandboxPath -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'A password given as a PSCredential' {
    It 'appears in no stream and no error record of the cmdlets, right or wrong, with -Verbose and -Debug' {
        $VerbosePreference = 'Continue'
        $DebugPreference = 'Continue'
        $InformationPreference = 'Continue'
        $everything = & {
            Get-PgDrNode $address, $standbyAddress -Credential $cred
            Get-PgReplicationLag $address -Credential $cred
            Get-PgReplicationSlot $address -Credential $cred
            New-PgReplicationSlot $address -Name pester_secret -Credential $cred -Confirm:$false
            Test-PgReplicationSlot $address -Credential $cred
            Remove-PgReplicationSlot $address -Name pester_secret -Credential $cred -Confirm:$false -PassThru
            Set-PgSynchronousReplication $address -StandbyName region-b -Credential $cred -WhatIf
            Test-PgWalArchiving $address -Credential $cred
            Test-PgDrConfiguration $address, $standbyAddress -Credential $cred
            Get-PgDrNode $address -Credential $wrong -ErrorAction Continue
            Test-PgDrConfiguration $address -Credential $wrong
        } *>&1 2>&1
        $VerbosePreference = 'SilentlyContinue'
        $DebugPreference = 'SilentlyContinue'
        $InformationPreference = 'SilentlyContinue'

        $everything | Should -Not -BeNullOrEmpty
        @($everything | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] }).Count | Should -BeGreaterThan 0
        $text = ($everything | ForEach-Object {
                if ($_ -is [System.Management.Automation.ErrorRecord]) { $_.ToString(); $_.Exception.ToString(); "$($_.TargetObject)"; $_.FullyQualifiedErrorId }
                else { $_ | Format-List * -Force | Out-String -Width 400 }
            }) -join "`n"
        $text | Should -Not -Match $marker
        ($Error | ForEach-Object { $_.ToString() + $_.Exception.ToString() }) -join "`n" | Should -Not -Match $marker
    }

    It 'is in no file of the sandbox: logs, postgresql.auto.conf, sandbox.json, data directories' {
        $hits = Get-ChildItem $sandboxPath -Recurse -File | Where-Object { Select-String -Path $_.FullName -Pattern $marker -SimpleMatch -Quiet -ErrorAction SilentlyContinue }
        $hits | Should -BeNullOrEmpty
    }
}

Describe 'A password and an archive key through archiving, backups, a new standby, a switchover and a failover' {
    BeforeAll {
        $pgdr = Install-PgDrForPostgres -Directory $work
        $repository = New-Item -ItemType Directory -Path (Join-Path $work 'repository')
        $spool = New-Item -ItemType Directory -Path (Join-Path $work 'spool')
        $keyFile = Join-Path $work 'archive.key'
        $keyHex = [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(32))
        [IO.File]::WriteAllText($keyFile, $keyHex)
        if (-not $IsWindows) { chmod 600 $keyFile }
        $configPath = Join-Path $work 'pgdr.json'
        @{
            stanza       = 'pester'
            repositories = @(@{ name = 'local'; type = 'filesystem'; path = $repository.FullName })
            encryption   = @{ keyFile = $keyFile }
            async        = @{ spoolPath = $spool.FullName; parallel = 2 }
            agent        = @{ node = 'region-a'; instance = $address; httpAddress = '127.0.0.1'; httpPort = (Get-PgDrFreePort); eventsPath = (Join-Path $work 'agent-events.jsonl') }
        } | ConvertTo-Json -Depth 5 | Set-Content $configPath
        Grant-PostgresAccess $repository.FullName, $spool.FullName, $keyFile, $configPath
        # The agent's event log, as a node where the agent ran has it (Get-PgDrEvent reads it; Start-PgDrAgent -WhatIf starts nothing).
        New-Item -ItemType File -Path (Join-Path $work 'agent-events.jsonl') | Out-Null
        # A replication role with the same recognisable password: New-PgStandby may only put it in its 0600 password file.
        New-SecretRole pgdr_pester_repl REPLICATION
        $repl = [pscredential]::new('pgdr_pester_repl', (ConvertTo-SecureString $secret -AsPlainText -Force))
        $standbyDirectory = Join-Path $sandboxPath 'pester-standby'
        $restored = Join-Path $work 'restored'
    }

    AfterAll {
        Stop-PgDrTestServer -DataDirectory $standbyDirectory -Sandbox $sandbox
    }

    It 'appears in no stream, error record or file, with -Verbose and -Debug' {
        $VerbosePreference = 'Continue'
        $DebugPreference = 'Continue'
        $InformationPreference = 'Continue'
        $everything = & {
            New-PgWalRepository $address -ConfigPath $configPath -Credential $cred -Confirm:$false
            Set-PgWalArchiving $address -Credential $cred -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false
            Test-PgWalArchiving $address -Credential $cred -ForceSwitch -ConfigPath $configPath
            Get-PgWalArchive -ConfigPath $configPath
            Test-PgWalArchive -ConfigPath $configPath
            Backup-PgCluster $address -Credential $cred -ConfigPath $configPath -Confirm:$false
            Get-PgBackup -ConfigPath $configPath
            Test-PgBackup -ConfigPath $configPath -PgDrPath $pgdr -NoAmcheck
            Restore-PgCluster $restored -ConfigPath $configPath -PgDrPath $pgdr -Immediate -ArchiveMode Off -Confirm:$false
            Remove-PgBackup -ConfigPath $configPath -KeepFull 1 -WhatIf
            # The backup, its test and the restore wrote WAL: let the standby replay it first (the switchover's lag limit).
            $deadline = (Get-Date).AddSeconds(120)
            while ((Get-PgReplicationLag $address -Credential $cred | Where-Object ByteLag -gt 1MB) -and (Get-Date) -lt $deadline) { Start-Sleep -Milliseconds 200 }
            Invoke-PgSwitchover $standbyAddress -OldPrimary $address -ConfigPath $configPath -Credential $cred -Confirm:$false
            Invoke-PgFailover $address -OldPrimary $standbyAddress -ConfigPath $configPath -Credential $cred -Confirm:$false
            Join-PgCluster -DataDirectory $sandbox.Nodes[1].DataDirectory -Primary $address -ConfigPath $configPath -Credential $cred -Confirm:$false
            Get-PgDrLease -ConfigPath $configPath
            New-PgStandby $address -DataDirectory $standbyDirectory -Name pester-standby -Port (Get-PgDrFreePort) -CreateSlot -Credential $cred -ReplicationCredential $repl -BinDirectory $sandbox.Binaries.Directory -Confirm:$false
            Get-PgDrSandbox -Path $sandboxPath
            Get-PgDrEvent -ConfigPath $configPath
            # The module folder the tests import carries no bin/<rid>/pgdr (the packages do, Package.Tests installs from
            # them): here it refuses, and its message is searched like every other output.
            try { Install-PgDrExecutable -Path (Join-Path $work 'installed') -WhatIf } catch { "refused: $($_.FullyQualifiedErrorId): $_" }
            Start-PgDrAgent -ConfigPath $configPath -WhatIf
        } *>&1 2>&1
        $VerbosePreference = 'SilentlyContinue'
        $DebugPreference = 'SilentlyContinue'
        $InformationPreference = 'SilentlyContinue'

        # They all did their work: no error record, region-a is the primary again, the new standby streams.
        $errors = @($everything | Where-Object { $_ -is [System.Management.Automation.ErrorRecord] })
        ($errors | ForEach-Object { "$($_.FullyQualifiedErrorId): $_" }) -join "`n" | Should -BeNullOrEmpty
        (Get-PgDrNode $address -Credential $cred).Role | Should -Be 'Primary'
        (Get-PgDrNode $standbyAddress -Credential $cred).Role | Should -Be 'Standby'
        Test-Path (Join-Path $restored 'PG_VERSION') | Should -BeTrue

        $text = ($everything | ForEach-Object { $_ | Format-List * -Force | Out-String -Width 400 }) -join "`n"
        $text | Should -Not -Match $marker
        $text | Should -Not -Match $keyHex
        ($Error | ForEach-Object { $_.ToString() + $_.Exception.ToString() }) -join "`n" | Should -Not -Match $marker

        # Every file of the sandbox (logs, postgresql.auto.conf, the new standby's), the spool, the restore and the repository;
        # the password may be only in the new standby's 0600 password file, the key only in its own file.
        $passwordFile = "$standbyDirectory.pgpass"
        (Get-Content $passwordFile -Raw) | Should -Match $marker
        $files = Get-ChildItem $sandboxPath, $work -Recurse -File | Where-Object { $_.FullName -notin $keyFile, $passwordFile }
        $files.FullName | Should -Contain (Join-Path $restored 'postgresql.auto.conf')
        # A running server removes files of its own between the listing and the read (pg_internal.init): those are skipped.
        # (-LiteralPath: a missing file is then a non-terminating error, which -ErrorAction SilentlyContinue drops.)
        $hits = $files | Where-Object { Select-String -LiteralPath $_.FullName -Pattern $marker, $keyHex -SimpleMatch -Quiet -ErrorAction SilentlyContinue }
        $hits | Should -BeNullOrEmpty
    }
}
