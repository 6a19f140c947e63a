@echo off
rem Installs Backroom for this Windows user: double-click this file.
rem Windows blocks PowerShell scripts that are not signed by default; -ExecutionPolicy Bypass
rem applies to this one run of install.ps1 only and changes no setting.
setlocal
powershell.exe -NoProfile -ExecutionPolicy Bypass -File "%~dp0install.ps1" %*
set result=%errorlevel%
echo.
if not "%result%"=="0" echo Backroom was not installed: see the message above.
pause
exit /b %result%
