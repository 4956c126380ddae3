#Requires -Version 7.4
#Requires -Modules @{ ModuleName = 'Pester'; ModuleVersion = '5.0.0' }
# WAL archiving through the cmdlets on a real sandbox primary and its standby: settings with -WhatIf, archiving end to
# end, the archive listing, and reading the archive back with the key held (Test-PgWalArchive, -EncryptionKey). The
# configuration file and the repository have spaces in their paths (archive_command quotes them for /bin/sh).
# Needs the module and pgdr built (./build.sh test and ./build.ps1 -Task Test build both); runs as root too (CI).

BeforeAll {
    Import-Module (Join-Path $PSScriptRoot 'PgDrTestSupport.psm1') -Force
    Import-Module (Get-PgDrModulePath) -Force
    $work = New-PgDrTestDirectory -Label 'archive'
    # archive_command runs as the postgres account: pgdr, the configuration, the key and the repository must be its own.
    $pgdr = Install-PgDrForPostgres -Directory $work
    $sandbox = New-PgDrSandbox -Path (Join-Path $work 'sandbox') -StandbyCount 1 -Confirm:$false
    $primary = $sandbox.Primary.Instance
    $standby = $sandbox.Nodes[1].Instance
    # Made by New-PgWalRepository below, owned by the postgres account.
    $repository = Join-Path $work 'wal repo'
    $keyFile = Join-Path $work 'archive.key'
    [IO.File]::WriteAllText($keyFile, [Convert]::ToHexString([Security.Cryptography.RandomNumberGenerator]::GetBytes(32)))
    if (-not $IsWindows) { chmod 600 $keyFile }
    $configPath = Join-Path $work 'pgdr config.json'
    @{
        stanza       = 'pester'
        repositories = @(@{ name = 'local'; type = 'filesystem'; path = $repository })
        compression  = 'zstd'
        encryption   = @{ keyFile = $keyFile }
    } | ConvertTo-Json -Depth 5 | Set-Content $configPath
    Grant-PostgresAccess $keyFile, $configPath
}

AfterAll {
    if ($work -and (Test-Path $work)) {
        Remove-PgDrSandbox -Path (Join-Path $work 'sandbox') -Confirm:$false -ErrorAction SilentlyContinue
        Remove-Item $work -Recurse -Force
    }
}

Describe 'New-PgWalRepository' {
    It 'lists its steps under -WhatIf and creates nothing' {
        New-PgWalRepository $primary -ConfigPath $configPath -WhatIf
        Test-Path $repository | Should -BeFalse
    }

    It 'creates the directory for the postgres account and writes the cluster''s identity' {
        $created = New-PgWalRepository $primary -ConfigPath $configPath -Confirm:$false
        $created.Repository | Should -Be 'local'
        $created.StoreCreated | Should -BeTrue
        $created.IdentityCreated | Should -BeTrue
        $created.AccessChecked | Should -BeTrue
        Test-Path (Join-Path $repository 'pester/identity.json') | Should -BeTrue
        if (Test-RunningAsRoot) { (stat -c %U $repository) | Should -Be 'postgres' }
    }
}

Describe 'Set-PgWalArchiving' {
    It 'changes nothing under -WhatIf' {
        Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -WhatIf
        (Test-PgWalArchiving $primary).ArchiveMode | Should -Be 'off'
    }

    It 'reports each setting old -> new and restarts the sandbox node with -Restart' {
        $change = Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -Restart -Confirm:$false
        ($change.Settings | Where-Object Name -eq 'archive_mode').OldValue | Should -Be 'off'
        ($change.Settings | Where-Object Name -eq 'archive_mode').NewValue | Should -Be 'on'
        $change.Restarted | Should -BeTrue
        $change.RestartPending | Should -BeFalse
        Get-PgDrTableView $change -Column Node, Applied, Restart, Changes | Should -Match 'archive_mode'
        Get-PgDrTableView $change.Settings -Column Name, OldValue, NewValue, Changed | Out-Null
    }

    It 'warns that archive_mode = on archives nothing on a standby until it is promoted' {
        Set-PgWalArchiving $standby -ConfigPath $configPath -PgDrPath $pgdr -WhatIf -WarningVariable warnings -WarningAction SilentlyContinue
        "$warnings" | Should -Match 'standby'
        "$warnings" | Should -Match 'promoted'
        "$warnings" | Should -Match 'ArchiveOnStandby'
    }

    It 'sets archive_mode = always on a standby with -ArchiveOnStandby, without the warning' {
        $change = Set-PgWalArchiving $standby -ConfigPath $configPath -PgDrPath $pgdr -ArchiveOnStandby -Confirm:$false -WarningVariable warnings
        $warnings | Should -BeNullOrEmpty
        ($change.Settings | Where-Object Name -eq 'archive_mode').NewValue | Should -Be 'always'
        $change.IsStandby | Should -BeTrue
    }
}

Describe 'Test-PgWalArchiving' {
    It 'archives a forced segment switch into the repository within the deadline' {
        $health = Test-PgWalArchiving $primary -ForceSwitch -Deadline 00:01:00 -ConfigPath $configPath
        $health.Healthy | Should -BeTrue -Because ($health.Reasons -join '; ')
        $health.UsesPgDr | Should -BeTrue
        $health.SwitchArchivedAfter | Should -Not -BeNullOrEmpty
        Get-PgDrTableView $health -Column Node, Mode, Archived, Failed, Healthy | Out-Null
    }

    It 'answers -Quiet with one bool' {
        Test-PgWalArchiving $primary -Quiet | Should -BeTrue
    }
}

Describe 'Test-PgWalArchiving failures' {
    It 'names the error pgdr logged, with its fix, as soon as the archiver fails' {
        $elsewhere = Join-Path $work 'elsewhere.json'
        $broken = Get-Content $configPath -Raw | ConvertFrom-Json
        $broken.repositories[0].path = Join-Path $work 'absent'
        $broken | ConvertTo-Json -Depth 5 | Set-Content $elsewhere
        Grant-PostgresAccess $elsewhere
        Set-PgWalArchiving $primary -ConfigPath $elsewhere -PgDrPath $pgdr -Confirm:$false | Out-Null
        try {
            $health = Test-PgWalArchiving $primary -ForceSwitch -Deadline 00:02:00
            $health.Healthy | Should -BeFalse
            $health.Failure.ErrorId | Should -Be 'RepositoryNotFound'
            $health.Failure.Fix | Should -Not -BeNullOrEmpty
        }
        finally {
            Set-PgWalArchiving $primary -ConfigPath $configPath -PgDrPath $pgdr -Confirm:$false | Out-Null
        }
    }
}

Describe 'Get-PgWalArchive' {
    It 'lists a continuous first timeline' {
        $timeline = Get-PgWalArchive -ConfigPath $configPath
        $timeline.Timeline | Should -Be 1
        $timeline.SegmentCount | Should -BeGreaterThan 0
        $timeline.Continuous | Should -BeTrue
        Get-PgDrTableView $timeline -Column Repository, TL, First, Last, Continuous | Should -Match $timeline.FirstSegment
    }

    It 'fails with ConfigNotFound for a missing configuration file' {
        { Get-PgWalArchive -ConfigPath (Join-Path $work 'absent.json') -ErrorAction Stop } | Should -Throw -ErrorId 'ConfigNotFound,*'
    }
}

Describe 'Test-PgWalArchive' {
    BeforeAll {
        # The key file holds 64 hex digits; a SecureString of the same text is what Get-Secret would return.
        $keyText = (Get-Content $keyFile -Raw).Trim()
    }

    It 'reads every archived object back with the configured key' {
        $result = Test-PgWalArchive -ConfigPath $configPath
        $result.Repository | Should -Be 'local'
        $result.Readable | Should -BeTrue -Because (($result.Failures | ForEach-Object { "$($_.WalFileName): $($_.ErrorId)" }) -join '; ')
        $result.VerifiedCount | Should -BeGreaterThan 0
        $result.PlaintextBytes | Should -BeGreaterThan $result.StoredBytes
        Get-PgDrTableView $result -Column Repository, Verified, Failed, Readable | Out-Null
    }

    It 'takes the key as a SecureString with -EncryptionKey' {
        $key = ConvertTo-SecureString $keyText -AsPlainText -Force
        Test-PgWalArchive -ConfigPath $configPath -EncryptionKey $key -Quiet | Should -BeTrue
    }

    It 'reports every object as ArchiveKeyMismatch with another key, and -Quiet answers false' {
        $wrong = ConvertTo-SecureString ([Convert]::ToBase64String([Security.Cryptography.RandomNumberGenerator]::GetBytes(32))) -AsPlainText -Force
        $result = Test-PgWalArchive -ConfigPath $configPath -EncryptionKey $wrong
        $result.Failures.Count | Should -BeGreaterThan 0
        $result.Failures.ErrorId | Sort-Object -Unique | Should -Be 'ArchiveKeyMismatch'
        Test-PgWalArchive -ConfigPath $configPath -EncryptionKey $wrong -Quiet | Should -BeFalse
    }

    It 'refuses a malformed -EncryptionKey with InvalidArchiveKey' {
        $bad = ConvertTo-SecureString 'not a key' -AsPlainText -Force
        { Test-PgWalArchive -ConfigPath $configPath -EncryptionKey $bad -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArchiveKey,*'
    }

    # What -EncryptionKey (Get-Secret -Name ...) hands over: a SecureString when the secret is there (the test above),
    # $null when Get-Secret fails. SecretManagement itself is not on the package mirror, so no test runs it here.
    It 'refuses -EncryptionKey $null (a failed Get-Secret) with ArchiveKeyRequired instead of using the key file' {
        { Test-PgWalArchive -ConfigPath $configPath -EncryptionKey $null -ErrorAction Stop } | Should -Throw -ErrorId 'ArchiveKeyRequired,*'
    }

    It 'refuses an empty SecureString with InvalidArchiveKey' {
        { Test-PgWalArchive -ConfigPath $configPath -EncryptionKey ([securestring]::new()) -ErrorAction Stop } | Should -Throw -ErrorId 'InvalidArchiveKey,*'
    }
}

Describe 'Set-PgWalArchiving -Disable' {
    It 'needs neither -ConfigPath nor -PgDrPath, and -WhatIf changes nothing' {
        $null = Set-PgWalArchiving $primary -Disable -WhatIf
        (Test-PgWalArchiving $primary).ArchiveMode | Should -Be 'on'
    }

    It 'switches archive_mode off, and only that' {
        $change = Set-PgWalArchiving $primary -Disable -Restart -Confirm:$false
        ($change.Settings | Where-Object Changed).Name | Should -Be 'archive_mode'
        (Test-PgWalArchiving $primary).ArchiveMode | Should -Be 'off'
    }
}
